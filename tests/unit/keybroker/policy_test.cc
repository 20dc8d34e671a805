#include "keybroker/auth/policy.h"

#include <gtest/gtest.h>

namespace kenc::keybroker::auth {
namespace {

Policy sample() {
  return Policy({
      Rule{{"spiffe://kenc/proxy/*"},
           {"orders-*", "payments"},
           {Operation::kLease, Operation::kUnwrap}},
      Rule{{"CN-auditor", "auditor.kenc.test"}, {"*"}, {Operation::kUnwrap}},
  });
}

TEST(Policy, AllowsWhatARuleGrants) {
  auto p = sample();
  EXPECT_TRUE(p.allows("spiffe://kenc/proxy/eu-1", Operation::kLease, {"orders-eu"}));
  EXPECT_TRUE(p.allows("spiffe://kenc/proxy/eu/1", Operation::kUnwrap, {"payments"}));
  EXPECT_TRUE(p.allows("auditor.kenc.test", Operation::kUnwrap, {"anything"}));
}

TEST(Policy, DeniesByDefault) {
  auto p = sample();
  EXPECT_FALSE(p.allows("spiffe://kenc/proxy/eu-1", Operation::kResolve, {"orders-eu"}));
  EXPECT_FALSE(p.allows("spiffe://kenc/proxy/eu-1", Operation::kLease, {"payments-2"}));
  EXPECT_FALSE(p.allows("spiffe://other/proxy/eu-1", Operation::kLease, {"orders-eu"}));
  EXPECT_FALSE(p.allows("auditor.kenc.test", Operation::kLease, {"orders-eu"}));
  EXPECT_FALSE(p.allows("", Operation::kUnwrap, {"orders-eu"}));
  EXPECT_FALSE(Policy().allows("anyone", Operation::kLease, {"orders"}));
}

TEST(Policy, AnyOfTheKeksNamesMayMatch) {
  auto p = sample();
  // An EDEK names KEK id "kek-17", which the alias "orders-eu" maps to.
  EXPECT_TRUE(p.allows("spiffe://kenc/proxy/a", Operation::kUnwrap, {"kek-17", "orders-eu"}));
  EXPECT_FALSE(p.allows("spiffe://kenc/proxy/a", Operation::kUnwrap, {"kek-17"}));
}

TEST(Policy, OperationNamesRoundTrip) {
  for (auto op : {Operation::kLease, Operation::kUnwrap, Operation::kResolve}) {
    EXPECT_EQ(parse_operation(operation_name(op)), op);
  }
  EXPECT_FALSE(parse_operation("encrypt").has_value());
}

}  // namespace
}  // namespace kenc::keybroker::auth
