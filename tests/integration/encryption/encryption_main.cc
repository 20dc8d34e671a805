// One stack for the whole binary: one Kafka broker, the key broker with the local KMS (KEKs
// created on first use) and two proxies sharing it, with the default topic rules (`enc-*`
// encrypted under KEK_<topic>, `plain-*` in plaintext, everything else rejected).
#include <gtest/gtest.h>

#include "tests/integration/encryption/encryption_support.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  kenc::testworld::EncryptionStack::Options options;
  options.label = "e2e-local";
  options.proxies = 2;
  ::testing::AddGlobalTestEnvironment(new kenc::testworld::e2e::StackEnvironment(options));
  return RUN_ALL_TESTS();
}
