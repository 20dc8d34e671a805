# Every third-party dependency comes from a Debian package; scripts/setup.sh installs them all.
# A missing one stops the configuration with the name of the package to install.

function(kenc_require found_var package)
  if(NOT ${found_var})
    message(FATAL_ERROR "Missing dependency: install the Debian package '${package}' "
                        "(or run scripts/setup.sh, which installs everything).")
  endif()
endfunction()

find_package(PkgConfig QUIET)
kenc_require(PKG_CONFIG_FOUND pkg-config)

find_package(Threads REQUIRED)

find_package(OpenSSL 3.0 QUIET)
kenc_require(OPENSSL_FOUND libssl-dev)

# libipsec-mb: the record cipher's AES-256-GCM on x86-64 (KENC_AES_GCM; common/crypto).
if(NOT KENC_AES_GCM MATCHES "^(auto|ipsec-mb|openssl)$")
  message(FATAL_ERROR "KENC_AES_GCM must be auto, ipsec-mb or openssl, not '${KENC_AES_GCM}'")
endif()
# The implementation, its source file (in common/crypto/) and its libraries, for kenc_crypto and
# for the fuzzers that compile common/crypto themselves.
set(KENC_AES_GCM_IMPLEMENTATION openssl)
set(KENC_AES_GCM_SOURCE aes_gcm_openssl.cc)
set(KENC_AES_GCM_LIBRARIES "")
if(NOT KENC_AES_GCM STREQUAL "openssl")
  find_path(IPSEC_MB_INCLUDE_DIR intel-ipsec-mb.h)
  find_library(IPSEC_MB_LIBRARY IPSec_MB)
  if(IPSEC_MB_INCLUDE_DIR AND IPSEC_MB_LIBRARY)
    set(KENC_AES_GCM_IMPLEMENTATION ipsec-mb)
    set(KENC_AES_GCM_SOURCE aes_gcm_ipsec_mb.cc)
    set(KENC_AES_GCM_LIBRARIES kenc_ipsec_mb)
    add_library(kenc_ipsec_mb INTERFACE)
    target_include_directories(kenc_ipsec_mb SYSTEM INTERFACE ${IPSEC_MB_INCLUDE_DIR})
    target_link_libraries(kenc_ipsec_mb INTERFACE ${IPSEC_MB_LIBRARY})
  elseif(KENC_AES_GCM STREQUAL "ipsec-mb")
    kenc_require(IPSEC_MB_INCLUDE_DIR libipsec-mb-dev)
    kenc_require(IPSEC_MB_LIBRARY libipsec-mb-dev)
  endif()
endif()
message(STATUS "AES-256-GCM implementation: ${KENC_AES_GCM_IMPLEMENTATION}")

find_package(Protobuf QUIET)
kenc_require(Protobuf_FOUND "libprotobuf-dev protobuf-compiler")

find_package(gRPC CONFIG QUIET)
kenc_require(gRPC_FOUND "libgrpc++-dev protobuf-compiler-grpc")
find_program(KENC_GRPC_CPP_PLUGIN grpc_cpp_plugin)
kenc_require(KENC_GRPC_CPP_PLUGIN protobuf-compiler-grpc)

find_path(ASIO_INCLUDE_DIR asio.hpp)
kenc_require(ASIO_INCLUDE_DIR libasio-dev)
add_library(kenc_asio INTERFACE)
target_include_directories(kenc_asio SYSTEM INTERFACE ${ASIO_INCLUDE_DIR})
target_compile_definitions(kenc_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED)
target_link_libraries(kenc_asio INTERFACE Threads::Threads)

find_package(CURL QUIET)
kenc_require(CURL_FOUND libcurl4-openssl-dev)

find_package(glog CONFIG QUIET)
kenc_require(glog_FOUND libgoogle-glog-dev)

find_package(yaml-cpp CONFIG QUIET)
kenc_require(yaml-cpp_FOUND libyaml-cpp-dev)

find_package(nlohmann_json CONFIG QUIET)
kenc_require(nlohmann_json_FOUND nlohmann-json3-dev)

find_package(ZLIB QUIET)
kenc_require(ZLIB_FOUND zlib1g-dev)

find_package(Snappy CONFIG QUIET)
kenc_require(Snappy_FOUND libsnappy-dev)

pkg_check_modules(LZ4 QUIET IMPORTED_TARGET liblz4)
kenc_require(LZ4_FOUND liblz4-dev)

pkg_check_modules(ZSTD QUIET IMPORTED_TARGET libzstd)
kenc_require(ZSTD_FOUND libzstd-dev)

if(KENC_BUILD_TESTS)
  find_package(GTest CONFIG QUIET)
  kenc_require(GTest_FOUND "libgtest-dev libgmock-dev")
  pkg_check_modules(RDKAFKA QUIET IMPORTED_TARGET rdkafka)
  kenc_require(RDKAFKA_FOUND librdkafka-dev)
  find_program(KENC_KCAT kcat)
  kenc_require(KENC_KCAT kcat)
  find_program(KENC_JAVA java)
  kenc_require(KENC_JAVA openjdk-17-jdk-headless)
  find_program(KENC_MVN mvn)
  kenc_require(KENC_MVN maven)
endif()

if(KENC_BUILD_BENCH)
  find_package(benchmark CONFIG QUIET)
  kenc_require(benchmark_FOUND libbenchmark-dev)
endif()
