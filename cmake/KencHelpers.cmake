# kenc_add_gtest(NAME <name> SOURCES <files...> [LIBS <targets...>] [LABELS <labels...>]
#                [TIMEOUT <seconds>])
# Builds one GoogleTest binary and registers its tests with ctest. Unit tests carry the
# label "unit"; tests that start Kafka or OpenBao carry "integration" and run serially,
# because on a 2-core machine two Kafka brokers starting at once only slow each other down.
function(kenc_add_gtest)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE kenc_compile_options GTest::gtest GTest::gmock ${T_LIBS})
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
