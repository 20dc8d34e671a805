#include "tests/world/kafka/rdkafka_admin.h"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>

namespace kenc::testworld {
namespace {

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

Handle make_handle(const std::string& bootstrap) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("rd_kafka_new: ") + err);
  }
  return Handle(rk);
}

// Runs one admin operation and returns its result event (caller destroys it).
rd_kafka_event_t* await_event(rd_kafka_queue_t* queue, rd_kafka_event_type_t type) {
  for (int i = 0; i < 600; ++i) {
    rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, 100);
    if (ev == nullptr) continue;
    if (rd_kafka_event_type(ev) == type) return ev;
    rd_kafka_event_destroy(ev);
  }
  throw std::runtime_error("admin operation timed out");
}

bool topic_ready(rd_kafka_t* rk, const std::string& name, int partitions) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* topic = rd_kafka_topic_new(rk, name.c_str(), nullptr);
  bool ready = false;
  if (rd_kafka_metadata(rk, 0, topic, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
      md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
      md->topics[0].partition_cnt == partitions) {
    ready = true;
    for (int p = 0; p < md->topics[0].partition_cnt; ++p) {
      if (md->topics[0].partitions[p].leader < 0) ready = false;
    }
  }
  if (md != nullptr) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(topic);
  return ready;
}

}  // namespace

size_t count_brokers(const std::string& bootstrap, std::string* error) {
  Handle rk = make_handle(bootstrap);
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(rk.get(), 0, nullptr, &md, 2000);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (error != nullptr) *error = rd_kafka_err2str(err);
    return 0;
  }
  size_t n = static_cast<size_t>(md->broker_cnt);
  rd_kafka_metadata_destroy(md);
  return n;
}

void create_topic(const std::string& bootstrap, const std::string& name, int partitions,
                  int replication_factor, const std::map<std::string, std::string>& config) {
  Handle rk = make_handle(bootstrap);
  char err[512];
  rd_kafka_NewTopic_t* topic =
      rd_kafka_NewTopic_new(name.c_str(), partitions, replication_factor, err, sizeof err);
  if (topic == nullptr) throw std::runtime_error(std::string("NewTopic: ") + err);
  for (const auto& [k, v] : config) rd_kafka_NewTopic_set_config(topic, k.c_str(), v.c_str());
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk.get());
  rd_kafka_CreateTopics(rk.get(), &topic, 1, nullptr, queue);
  rd_kafka_event_t* ev = await_event(queue, RD_KAFKA_EVENT_CREATETOPICS_RESULT);
  std::string failure;
  if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    failure = rd_kafka_event_error_string(ev);
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    if (n == 1 && rd_kafka_topic_result_error(results[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      failure = rd_kafka_topic_result_error_string(results[0]);
    }
  }
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(topic);
  if (!failure.empty()) throw std::runtime_error("create topic " + name + ": " + failure);
  for (int i = 0; i < 300; ++i) {
    if (topic_ready(rk.get(), name, partitions)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("topic " + name + " has no leader for every partition after 30 s");
}

void delete_topic(const std::string& bootstrap, const std::string& name) {
  Handle rk = make_handle(bootstrap);
  rd_kafka_DeleteTopic_t* topic = rd_kafka_DeleteTopic_new(name.c_str());
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk.get());
  rd_kafka_DeleteTopics(rk.get(), &topic, 1, nullptr, queue);
  rd_kafka_event_t* ev = await_event(queue, RD_KAFKA_EVENT_DELETETOPICS_RESULT);
  std::string failure;
  if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR)
    failure = rd_kafka_event_error_string(ev);
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(queue);
  rd_kafka_DeleteTopic_destroy(topic);
  if (!failure.empty()) throw std::runtime_error("delete topic " + name + ": " + failure);
}

}  // namespace kenc::testworld
