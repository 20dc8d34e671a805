// The test world's Java client: the real Apache Kafka Java producer, consumer and admin client,
// driven from C++ tests. Records travel as JSON lines with base64 keys, values and header values,
// so any byte string (and null) round-trips exactly.
//
//   produce --bootstrap B --topic T [--prop k=v]... [--transactional-id ID [--abort]]
//       stdin: one JSON record per line {"key":b64|null,"value":b64|null,"headers":[{"key":s,"value":b64|null}],
//              "partition":n?,"timestamp":ms?}
//       stdout: one JSON line per acknowledged record {"partition","offset"}
//   consume --bootstrap B --topic T --count N [--timeout-ms M] [--group G] [--prop k=v]...
//       stdout: one JSON line per record {"topic","partition","offset","timestamp","timestampType",
//               "key","value","headers"}; exits 3 if fewer than N records arrived in time
//   produce-continuous --bootstrap B --topic T --run-id R --keys K --stop-file F
//                      [--duration-ms D] [--rate N] [--value-bytes V] [--prop k=v]...
//       sends records (key "key-<seq % K>", value "<R>-<seq>-" padded to V bytes) at about N/s
//       until F exists or D ms passed, then flushes and waits for every send's outcome.
//       stdout: {"ack":seq,"partition","offset","ms":wall-clock ms of the acknowledgement} per
//       acknowledged record, {"fail":seq,"error":...,"ms"} per failed send, {"sent":n} at the end
//   consume ... --to-end: reads every partition from the beginning up to its end offset at the
//       start (instead of --count records)
//   admin --bootstrap B (create-topic T P RF [k=v...] | delete-topic T | list-topics |
//                        describe-topic T | describe-cluster) [--prop k=v]...
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class KencTestClient {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Base64.Encoder B64 = Base64.getEncoder();
  private static final Base64.Decoder UNB64 = Base64.getDecoder();

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      System.err.println("usage: KencTestClient produce|consume|admin ...");
      System.exit(2);
    }
    Map<String, String> opts = new HashMap<>();
    Properties props = new Properties();
    List<String> positional = new ArrayList<>();
    for (int i = 1; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--prop")) {
        String kv = args[++i];
        int eq = kv.indexOf('=');
        props.setProperty(kv.substring(0, eq), kv.substring(eq + 1));
      } else if (a.equals("--abort")) {
        opts.put("abort", "true");
      } else if (a.equals("--to-end")) {
        opts.put("to-end", "true");
      } else if (a.startsWith("--")) {
        opts.put(a.substring(2), args[++i]);
      } else {
        positional.add(a);
      }
    }
    props.setProperty("bootstrap.servers", opts.get("bootstrap"));
    switch (args[0]) {
      case "produce" -> System.exit(produce(opts, props));
      case "consume" -> System.exit(consume(opts, props));
      case "produce-continuous" -> System.exit(produceContinuous(opts, props));
      case "admin" -> System.exit(admin(positional, props));
      default -> {
        System.err.println("unknown mode " + args[0]);
        System.exit(2);
      }
    }
  }

  private static byte[] bytes(JsonNode node) {
    return node == null || node.isNull() ? null : UNB64.decode(node.asText());
  }

  private static String b64(byte[] b) {
    return b == null ? null : B64.encodeToString(b);
  }

  private static int produce(Map<String, String> opts, Properties props) throws Exception {
    props.setProperty("key.serializer", ByteArraySerializer.class.getName());
    props.setProperty("value.serializer", ByteArraySerializer.class.getName());
    String txId = opts.get("transactional-id");
    if (txId != null) props.setProperty("transactional.id", txId);
    String topic = opts.get("topic");
    List<Future<RecordMetadata>> sent = new ArrayList<>();
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
      if (txId != null) {
        producer.initTransactions();
        producer.beginTransaction();
      }
      BufferedReader in =
          new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      String line;
      while ((line = in.readLine()) != null) {
        if (line.isBlank()) continue;
        JsonNode r = JSON.readTree(line);
        RecordHeaders headers = new RecordHeaders();
        if (r.has("headers")) {
          for (JsonNode h : r.get("headers")) headers.add(h.get("key").asText(), bytes(h.get("value")));
        }
        Integer partition = r.has("partition") ? r.get("partition").asInt() : null;
        Long timestamp = r.has("timestamp") ? r.get("timestamp").asLong() : null;
        sent.add(producer.send(new ProducerRecord<>(topic, partition, timestamp,
            bytes(r.get("key")), bytes(r.get("value")), headers)));
      }
      if (txId != null) {
        if (opts.containsKey("abort")) producer.abortTransaction();
        else producer.commitTransaction();
      }
      producer.flush();
      for (Future<RecordMetadata> f : sent) {
        RecordMetadata md = f.get();
        ObjectNode out = JSON.createObjectNode();
        out.put("partition", md.partition());
        out.put("offset", md.offset());
        System.out.println(JSON.writeValueAsString(out));
      }
    }
    return 0;
  }

  // The fault tests' load: a steady stream of numbered records whose acknowledgements (and
  // failures) are printed as they happen, so the test can tell when production resumed after a
  // fault. Keys are a function of the sequence number, so each key, and thus each partition,
  // sees increasing sequence numbers: the verifier checks that order on the way back.
  private static int produceContinuous(Map<String, String> opts, Properties props)
      throws Exception {
    props.setProperty("key.serializer", ByteArraySerializer.class.getName());
    props.setProperty("value.serializer", ByteArraySerializer.class.getName());
    String topic = opts.get("topic");
    String runId = opts.get("run-id");
    int keys = Integer.parseInt(opts.getOrDefault("keys", "12"));
    long durationMs = Long.parseLong(opts.getOrDefault("duration-ms", "600000"));
    int rate = Integer.parseInt(opts.getOrDefault("rate", "500"));
    int valueBytes = Integer.parseInt(opts.getOrDefault("value-bytes", "100"));
    java.io.File stopFile = new java.io.File(opts.get("stop-file"));
    java.io.PrintStream out = System.out;
    final long began = System.currentTimeMillis();
    long start = began;
    long seq = 0;
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
      while (System.currentTimeMillis() - began < durationMs && !stopFile.exists()) {
        // Paced by wall clock: after a stall (send() blocks while the buffer is full) the loop
        // catches up only up to one second's worth, so an outage does not end in a burst.
        long due = (System.currentTimeMillis() - start) * rate / 1000;
        if (seq >= due) {
          Thread.sleep(2);
          continue;
        }
        if (due - seq > rate) {
          start += (due - seq - rate) * 1000 / rate;
          due = seq + rate;
        }
        final long n = seq++;
        StringBuilder value = new StringBuilder(runId).append('-').append(n).append('-');
        while (value.length() < valueBytes) value.append('x');
        producer.send(new ProducerRecord<>(topic, ("key-" + (n % keys)).getBytes(
                StandardCharsets.UTF_8), value.toString().getBytes(StandardCharsets.UTF_8)),
            (md, error) -> {
              ObjectNode line = JSON.createObjectNode();
              if (error == null) {
                line.put("ack", n);
                line.put("partition", md.partition());
                line.put("offset", md.offset());
              } else {
                line.put("fail", n);
                line.put("error", error.toString());
              }
              line.put("ms", System.currentTimeMillis());
              synchronized (out) {
                out.println(line.toString());
                out.flush();
              }
            });
      }
      producer.flush();
    }
    synchronized (out) {
      out.println("{\"sent\":" + seq + "}");
      out.flush();
    }
    return 0;
  }

  private static int consume(Map<String, String> opts, Properties props) throws Exception {
    props.setProperty("key.deserializer", ByteArrayDeserializer.class.getName());
    props.setProperty("value.deserializer", ByteArrayDeserializer.class.getName());
    props.putIfAbsent("auto.offset.reset", "earliest");
    String topic = opts.get("topic");
    long count = Long.parseLong(opts.getOrDefault("count", "0"));
    long timeoutMs = Long.parseLong(opts.getOrDefault("timeout-ms", "60000"));
    String group = opts.get("group");
    if (group != null) props.setProperty("group.id", group);
    long seen = 0;
    Map<TopicPartition, Long> ends = null;
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      if (group != null) {
        consumer.subscribe(Collections.singletonList(topic));
      } else {
        List<TopicPartition> parts = new ArrayList<>();
        long deadline = System.currentTimeMillis() + timeoutMs;
        List<PartitionInfo> infos = null;
        while ((infos == null || infos.isEmpty()) && System.currentTimeMillis() < deadline) {
          infos = consumer.partitionsFor(topic, Duration.ofMillis(timeoutMs));
        }
        for (PartitionInfo p : infos) parts.add(new TopicPartition(topic, p.partition()));
        consumer.assign(parts);
        consumer.seekToBeginning(parts);
        if (opts.containsKey("to-end")) ends = consumer.endOffsets(parts);
      }
      long deadline = System.currentTimeMillis() + timeoutMs;
      while ((ends != null ? !reached(consumer, ends) : seen < count)
          && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          ObjectNode out = JSON.createObjectNode();
          out.put("topic", r.topic());
          out.put("partition", r.partition());
          out.put("offset", r.offset());
          out.put("timestamp", r.timestamp());
          out.put("timestampType", r.timestampType().name);
          out.put("key", b64(r.key()));
          out.put("value", b64(r.value()));
          ArrayNode hs = out.putArray("headers");
          for (Header h : r.headers()) {
            ObjectNode ho = hs.addObject();
            ho.put("key", h.key());
            ho.put("value", b64(h.value()));
          }
          System.out.println(JSON.writeValueAsString(out));
          seen++;
        }
      }
      if (group != null) consumer.commitSync();
    }
    System.out.flush();
    if (ends != null && seen < count) {
      System.err.println("consumed " + seen + " records, fewer than the " + count + " expected");
      return 3;
    }
    if (seen < count) {
      System.err.println("consumed " + seen + " of " + count + " records before the timeout");
      return 3;
    }
    return 0;
  }

  // Whether the consumer's position reached the end offset of every partition.
  private static boolean reached(KafkaConsumer<byte[], byte[]> consumer,
      Map<TopicPartition, Long> ends) {
    for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
      if (consumer.position(e.getKey()) < e.getValue()) return false;
    }
    return true;
  }

  private static int admin(List<String> args, Properties props) throws Exception {
    try (Admin admin = Admin.create(props)) {
      switch (args.get(0)) {
        case "create-topic" -> {
          NewTopic t = new NewTopic(args.get(1), Integer.parseInt(args.get(2)),
              Short.parseShort(args.get(3)));
          Map<String, String> cfg = new HashMap<>();
          for (String kv : args.subList(4, args.size())) {
            int eq = kv.indexOf('=');
            cfg.put(kv.substring(0, eq), kv.substring(eq + 1));
          }
          t.configs(cfg);
          admin.createTopics(List.of(t)).all().get();
          System.out.println("{\"created\":\"" + args.get(1) + "\"}");
        }
        case "delete-topic" -> {
          admin.deleteTopics(List.of(args.get(1))).all().get();
          System.out.println("{\"deleted\":\"" + args.get(1) + "\"}");
        }
        case "list-topics" -> {
          ArrayNode out = JSON.createArrayNode();
          for (String name : admin.listTopics().names().get()) out.add(name);
          System.out.println(JSON.writeValueAsString(out));
        }
        case "describe-topic" -> {
          TopicDescription d =
              admin.describeTopics(List.of(args.get(1))).allTopicNames().get().get(args.get(1));
          ObjectNode out = JSON.createObjectNode();
          out.put("name", d.name());
          out.put("partitions", d.partitions().size());
          ArrayNode leaders = out.putArray("leaders");
          d.partitions().forEach(p -> leaders.add(p.leader() == null ? -1 : p.leader().id()));
          System.out.println(JSON.writeValueAsString(out));
        }
        case "describe-cluster" -> {
          DescribeClusterResult r = admin.describeCluster();
          ObjectNode out = JSON.createObjectNode();
          out.put("clusterId", r.clusterId().get());
          out.put("controller", r.controller().get().id());
          ArrayNode nodes = out.putArray("nodes");
          for (Node n : r.nodes().get()) {
            ObjectNode no = nodes.addObject();
            no.put("id", n.id());
            no.put("host", n.host());
            no.put("port", n.port());
          }
          System.out.println(JSON.writeValueAsString(out));
        }
        default -> {
          System.err.println("unknown admin command " + args.get(0));
          return 2;
        }
      }
    }
    return 0;
  }
}
