# Warnings and hardening as docs STYLE.md lists them, on an interface target every target links.
add_library(rollcall_warnings INTERFACE)
target_compile_options(rollcall_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Wstrict-prototypes -Wmissing-prototypes
  -Wformat=2 -Wundef -Wvla -Wcast-qual -Wwrite-strings -Wimplicit-fallthrough
  -fstack-protector-strong -fPIE)
target_compile_definitions(rollcall_warnings INTERFACE _GNU_SOURCE)
if(ROLLCALL_WERROR)
  target_compile_options(rollcall_warnings INTERFACE -Werror)
endif()

if(ROLLCALL_TSAN AND (ROLLCALL_SANITIZE OR ROLLCALL_FUZZ))
  message(FATAL_ERROR "ROLLCALL_TSAN cannot be combined with ROLLCALL_SANITIZE or ROLLCALL_FUZZ")
endif()

if(ROLLCALL_TSAN)
  set(san -fsanitize=thread -fno-omit-frame-pointer)
  add_compile_options(${san} -g -O1)
  add_link_options(${san})
elseif(ROLLCALL_SANITIZE OR ROLLCALL_FUZZ)
  # _FORTIFY_SOURCE and ASan check the same things in ways that conflict; sanitized builds
  # keep ASan's.
  set(san -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_compile_options(${san} -g -O1)
  if(ROLLCALL_FUZZ)
    add_compile_options(-fsanitize=fuzzer-no-link)
  endif()
  add_link_options(${san})
else()
  target_compile_definitions(rollcall_warnings INTERFACE $<$<NOT:$<CONFIG:Debug>>:_FORTIFY_SOURCE=2>)
endif()
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
# --as-needed: a program records only the shared libraries it calls (the kiosk daemon must not
# map libcurl or OpenSSL because the agent library as a whole uses them).
add_link_options(-pie -Wl,-z,relro,-z,now -Wl,--as-needed)

if(NOT CMAKE_BUILD_TYPE AND NOT ROLLCALL_SANITIZE AND NOT ROLLCALL_TSAN)
  set(CMAKE_BUILD_TYPE RelWithDebInfo)
endif()
