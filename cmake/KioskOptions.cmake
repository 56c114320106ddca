# Interface targets that carry the project's compile options; every project target links
# them PRIVATE so that consumers (and system headers) are not affected.

add_library(kiosk_warnings INTERFACE)
add_library(kiosk::warnings ALIAS kiosk_warnings)
target_compile_options(kiosk_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion -Wnull-dereference
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
if(KIOSK_WARNINGS_AS_ERRORS)
  target_compile_options(kiosk_warnings INTERFACE -Werror)
  # GCC 12 at -O2 reports false -Wmaybe-uninitialized inside std::variant and -Wrestrict inside
  # std::string (GCC bugs 105562 and 105329); they stay warnings in optimised builds.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(kiosk_warnings INTERFACE
      $<$<NOT:$<CONFIG:Debug>>:-Wno-error=maybe-uninitialized -Wno-error=restrict>)
  endif()
endif()

add_library(kiosk_sanitizers INTERFACE)
add_library(kiosk::sanitizers ALIAS kiosk_sanitizers)
if(KIOSK_ENABLE_SANITIZERS)
  target_compile_options(kiosk_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(kiosk_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
# ThreadSanitizer: the tsan preset; scripts/tsan.supp says what it may ignore, and why.
if(KIOSK_ENABLE_TSAN)
  if(KIOSK_ENABLE_SANITIZERS)
    message(FATAL_ERROR "KIOSK_ENABLE_TSAN and KIOSK_ENABLE_SANITIZERS exclude each other")
  endif()
  target_compile_options(kiosk_sanitizers INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(kiosk_sanitizers INTERFACE -fsanitize=thread)
endif()

if(KIOSK_ENABLE_CLANG_TIDY)
  find_program(KIOSK_CLANG_TIDY_EXE NAMES clang-tidy clang-tidy-14 REQUIRED)
  set(CMAKE_CXX_CLANG_TIDY ${KIOSK_CLANG_TIDY_EXE} --quiet)
endif()

# Helper: a static library for one folder, with the alias kiosk::NAME.
function(kiosk_add_library name)
  add_library(kiosk_${name} STATIC ${ARGN})
  add_library(kiosk::${name} ALIAS kiosk_${name})
  target_link_libraries(kiosk_${name} PRIVATE kiosk::warnings kiosk::sanitizers)
  target_include_directories(kiosk_${name} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()

# Helper: an executable of the project (application, tool, test or benchmark).
function(kiosk_add_executable name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE kiosk::warnings kiosk::sanitizers)
endfunction()
