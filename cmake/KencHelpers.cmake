# kenc_add_gtest(NAME <name> SOURCES <files...> [LIBS <targets...>] [LABELS <labels...>]
#                [TIMEOUT <seconds>])
# Builds one GoogleTest binary and registers its tests with ctest. Unit tests carry the
# label "unit"; tests that start Kafka or OpenBao carry "integration" and run serially,
# because on a 2-core machine two Kafka brokers starting at once only slow each other down.
function(kenc_add_gtest)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE kenc_compile_options GTest::gtest GTest::gmock ${T_LIBS})
  kenc_test_code(${T_NAME})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  # One ctest entry per binary: integration binaries start their world once for all
  # of their tests, which gtest_discover_tests would repeat per test.
  add_test(NAME ${T_NAME} COMMAND ${T_NAME} --gtest_color=no)
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT})
  if("integration" IN_LIST T_LABELS)
    set_tests_properties(${T_NAME} PROPERTIES RESOURCE_LOCK test_world)
  endif()
endfunction()

# kenc_test_code(<target>)
# Test code (the test binaries and the test world's libraries) is compiled with -Og in the
# optimized build types: it compiles in 50-70% of the time of -O2, and test code is most of a
# clean build's compile time; it still runs fast enough for its tests. The code under test, kenc's own
# libraries and daemons, keeps the build type's optimization.
function(kenc_test_code target)
  target_compile_options(${target} PRIVATE $<$<CONFIG:RelWithDebInfo,Release,MinSizeRel>:-Og>)
endfunction()
