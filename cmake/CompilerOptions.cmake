# Warnings, sanitizers and hardening shared by every target of the project.
# -Wnull-dereference is left out: GCC 12 reports false positives inside libstdc++ and Asio at -O2.
add_library(kenc_compile_options INTERFACE)
target_compile_options(kenc_compile_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wimplicit-fallthrough
  $<$<BOOL:${KENC_WERROR}>:-Werror>)

if(KENC_SANITIZE AND KENC_TSAN)
  message(FATAL_ERROR "KENC_SANITIZE and KENC_TSAN cannot be combined")
endif()
if(KENC_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(KENC_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  # GCC warns that TSan cannot model the std::atomic_thread_fence in Asio's handler invocation
  # (its fenced_block); Asio's operation queues are mutex-protected, which TSan does see.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-tsan)
  endif()
endif()
if(KENC_FUZZ AND NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "KENC_FUZZ needs clang: configure with -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang")
endif()
