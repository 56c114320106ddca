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
  # Boost.Asio's scheduler uses std::atomic_thread_fence, which GCC warns that TSan does not
  # model (-Wtsan): a warning about the library, not our code, so it is not made an error.
  target_compile_options(kiosk_sanitizers INTERFACE -fsanitize=thread -fno-omit-frame-pointer -Wno-error=tsan)
  target_link_options(kiosk_sanitizers INTERFACE -fsanitize=thread)
endif()

if(KIOSK_ENABLE_CLANG_TIDY)
  find_program(KIOSK_CLANG_TIDY_EXE NAMES clang-tidy clang-tidy-14 REQUIRED)
  set(CMAKE_CXX_CLANG_TIDY ${KIOSK_CLANG_TIDY_EXE} --quiet)
endif()

# Helper: a static library with the alias kiosk::NAME.
#   kiosk_add_library(NAME SOURCES... [HEADERS h...] [PRIVATE_HEADERS h...])
# Each library exposes its own headers only: the header beside each source (x.hpp for x.cpp)
# and HEADERS, as paths from the project's root, through a view of symbolic links under
# build/include/NAME. A target reaches the headers of the libraries it links and no others, so
# the build enforces the layers. PRIVATE_HEADERS are seen by the library's own sources alone.
function(kiosk_add_library name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "HEADERS;PRIVATE_HEADERS")
  set(sources ${arg_UNPARSED_ARGUMENTS})
  add_library(kiosk_${name} STATIC ${sources})
  add_library(kiosk::${name} ALIAS kiosk_${name})
  target_link_libraries(kiosk_${name} PRIVATE kiosk::warnings kiosk::sanitizers)

  file(RELATIVE_PATH folder ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  set(public ${arg_HEADERS})
  foreach(source ${sources})
    string(REGEX REPLACE "\\.cpp$" ".hpp" header ${source})
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${header})
      list(APPEND public ${folder}/${header})
    endif()
  endforeach()
  set(view ${PROJECT_BINARY_DIR}/include/${name})
  set(hidden ${PROJECT_BINARY_DIR}/include/${name}-private)
  file(REMOVE_RECURSE ${view} ${hidden})
  foreach(header ${public})
    kiosk_link_header(${view} ${header})
  endforeach()
  foreach(header ${arg_PRIVATE_HEADERS})
    kiosk_link_header(${hidden} ${header})
  endforeach()
  file(MAKE_DIRECTORY ${view} ${hidden})
  target_include_directories(kiosk_${name} PUBLIC ${view} PRIVATE ${hidden})
endfunction()

function(kiosk_link_header view header)
  if(NOT EXISTS ${PROJECT_SOURCE_DIR}/${header})
    message(FATAL_ERROR "kiosk_add_library: no header ${header}")
  endif()
  get_filename_component(dir ${view}/${header} DIRECTORY)
  file(MAKE_DIRECTORY ${dir})
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${header} ${view}/${header} SYMBOLIC)
endfunction()

# Helper: an executable of the project (application, tool, test or benchmark).
function(kiosk_add_executable name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE kiosk::warnings kiosk::sanitizers)
endfunction()
