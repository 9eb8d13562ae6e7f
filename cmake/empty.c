/* Placeholder so a program library with no module yet still builds. */
typedef int rollcall_empty_translation_unit;
