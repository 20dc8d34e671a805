// docs/configuration.md must document exactly the keys the daemons' parsers accept: a key a
// parser accepts without a row in the reference, or a row for a key no parser accepts, fails.
// The parsers take their accepted keys from the same lists (KeySchema), so these lists are what
// the daemons really accept.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "keybroker/config/keybroker_config_keys.h"
#include "keybroker/kms/vault/vault_config.h"
#include "proxy/config/proxy_config_keys.h"
#include "proxy/filters/record_encryption/topic_policy.h"

namespace {

using KeySet = std::set<std::string>;

struct DocumentedKey {
  std::string key;
  std::vector<std::string> cells;  // type, default, meaning
};

// The table rows of the section `## <daemon>` whose first cell is a `key`.
std::vector<DocumentedKey> documented_keys(const std::string& daemon) {
  std::ifstream in(KENC_CONFIGURATION_REFERENCE);
  EXPECT_TRUE(in) << "cannot read " << KENC_CONFIGURATION_REFERENCE;
  std::vector<DocumentedKey> rows;
  std::string line;
  bool in_section = false;
  static const std::regex kRow(R"(^\| `([^`]+)` \|(.*)\|\s*$)");
  while (std::getline(in, line)) {
    if (line.starts_with("## ")) {
      in_section = line == "## " + daemon;
      continue;
    }
    std::smatch m;
    if (!in_section || !std::regex_match(line, m, kRow)) {
      continue;
    }
    DocumentedKey row{m[1], {}};
    std::stringstream cells(m[2].str());
    std::string cell;
    while (std::getline(cells, cell, '|')) {
      row.cells.push_back(cell);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

KeySet with_prefix(const std::string& prefix, const kenc::config::KeySchema& schema) {
  KeySet keys;
  for (const auto& k : schema.all_keys()) {
    keys.insert(prefix + k);
  }
  return keys;
}

KeySet proxy_keys() {
  KeySet keys = with_prefix("", kenc::proxy::config::proxy_config_keys());
  if (keys.contains("virtual_clusters[].encryption.topics")) {
    keys.merge(with_prefix("virtual_clusters[].encryption.topics.",
                           kenc::record_encryption::TopicPolicy::config_keys()));
  }
  return keys;
}

KeySet keybroker_keys() {
  KeySet keys = with_prefix("", kenc::keybroker::config::keybroker_config_keys());
  keys.merge(with_prefix("kms.vault.", kenc::keybroker::kms::vault::VaultConfig::config_keys()));
  keys.insert("kek_aliases.<alias>");  // an open mapping: every alias is a key
  return keys;
}

void expect_documented_exactly(const std::string& daemon, const KeySet& accepted) {
  auto rows = documented_keys(daemon);
  KeySet documented;
  for (const auto& row : rows) {
    EXPECT_TRUE(documented.insert(row.key).second)
        << daemon << ": `" << row.key << "` is documented twice";
    ASSERT_EQ(row.cells.size(), 3u)
        << daemon << ": the row of `" << row.key << "` needs the columns type, default, meaning";
    for (const auto& cell : row.cells) {
      EXPECT_NE(cell.find_first_not_of(' '), std::string::npos)
          << daemon << ": the row of `" << row.key << "` has an empty column";
    }
  }
  for (const auto& key : accepted) {
    EXPECT_TRUE(documented.contains(key))
        << daemon << " accepts `" << key << "` but docs/configuration.md does not document it";
  }
  for (const auto& key : documented) {
    EXPECT_TRUE(accepted.contains(key)) << "docs/configuration.md documents `" << key << "` but "
                                        << daemon << " does not accept it";
  }
  EXPECT_GT(documented.size(), 20u) << daemon << ": the section was not found or is nearly empty";
}

TEST(ConfigReference, ProxyKeysAreDocumentedExactly) {
  expect_documented_exactly("kenc-proxy", proxy_keys());
}

TEST(ConfigReference, KeybrokerKeysAreDocumentedExactly) {
  expect_documented_exactly("kenc-keybroker", keybroker_keys());
}

TEST(ConfigReference, SchemaPathsDropListIndices) {
  using kenc::config::KeySchema;
  EXPECT_EQ(KeySchema::schema_path("virtual_clusters[12].gateway"), "virtual_clusters[].gateway");
  EXPECT_EQ(KeySchema::schema_path("a[0].b[3]"), "a[].b[]");
  EXPECT_EQ(KeySchema::schema_path(""), "");
}

TEST(ConfigReference, ParsersRejectWhatTheSchemaDoesNotList) {
  // The parsers look their keys up in the schema; a mapping the schema lacks is a bug.
  EXPECT_THROW(kenc::proxy::config::proxy_config_keys().keys_under("no_such_mapping"),
               std::logic_error);
  EXPECT_TRUE(kenc::proxy::config::proxy_config_keys()
                  .keys_under("virtual_clusters[3].gateway")
                  .contains("bootstrap"));
}

}  // namespace
