#include "proxy/filters/record_encryption/record_transforms.h"

#include <algorithm>
#include <cstring>

#include "common/crypto/cipher_record.h"
#include "proxy/filters/record_encryption/aes_context_cache.h"

namespace kenc::record_encryption {

using kafka::records::BatchHeader;
using kafka::records::NullableBytes;
using kafka::records::RecordView;
using kafka::records::ValueAction;

Result<ValueAction> EncryptTransform::plan_value(const BatchHeader&, const RecordView& record,
                                                 size_t& value_size) {
  if (find_cipher_header(record).found) {
    return make_error(ErrorCode::kInvalidArgument,
                      "record carries the reserved header 'kenc' (offset delta " +
                          std::to_string(record.offset_delta) + ")");
  }
  if (record.value.is_null()) {
    return ValueAction::kUnchanged;  // tombstones stay null: compaction must still see them
  }
  if (next_iv_.counter >= iv_end_) {
    return make_error(ErrorCode::kInternal, "more values than reserved IVs in a batch");
  }
  plaintext_ = record.value.bytes();
  value_bytes_ = record.value.size();
  last_version_ = crypto::kCipherFormatV1;
  if (encrypt_headers_ && record.header_count > 0) {
    // Reused per thread: no allocation once warm. write_value() reads it before this thread
    // plans another record.
    thread_local std::vector<uint8_t> headers_and_value;
    headers_and_value.clear();
    crypto::append_headers_and_value(record.encoded_headers, plaintext_, headers_and_value);
    plaintext_ = headers_and_value;
    last_version_ = crypto::kCipherFormatV2;
  }
  value_size = crypto::cipher_record_value_size(edek_.size(), next_iv_, plaintext_.size());
  return ValueAction::kReplaced;
}

Status EncryptTransform::write_value(std::span<uint8_t> out) {
  auto written = crypto::write_cipher_record_value(encryptor_, edek_, next_iv_, plaintext_, out,
                                                   last_version_);
  if (!written.ok()) {
    return written.error();
  }
  if (*written != out.size()) {
    return make_error(ErrorCode::kInternal, "cipher record size differs from its plan");
  }
  ++next_iv_.counter;
  ++encrypted_;
  plaintext_bytes_ += value_bytes_;
  return Status::Ok();
}

bool EncryptTransform::rewrite_headers(const RecordView& record, ValueAction action,
                                       std::vector<uint8_t>& new_headers) {
  if (action != ValueAction::kReplaced) {
    return false;
  }
  if (last_version_ == crypto::kCipherFormatV2) {
    append_only_cipher_header(crypto::kCipherFormatV2, new_headers);
  } else {
    append_headers_with_cipher_header(record, crypto::kCipherFormatV1, new_headers);
  }
  return true;
}

bool DecryptTransform::needs_rewrite(const RecordView& record) {
  return find_cipher_header(record).found;
}

void DecryptTransform::reset() {
  missing_edek_.clear();
  missing_dek_ = false;
  failed_offset_ = -1;
}

Result<ValueAction> DecryptTransform::plan_value(const BatchHeader& batch, const RecordView& record,
                                                 size_t& value_size) {
  cipher_header_ = find_cipher_header(record);
  if (!cipher_header_.found) {
    return ValueAction::kUnchanged;
  }
  failed_offset_ = batch.base_offset + record.offset_delta;
  if (cipher_header_.duplicate) {
    return make_error(ErrorCode::kInvalidArgument, "record carries the header 'kenc' twice");
  }
  const NullableBytes& marker = cipher_header_.value;
  if (marker.is_null() || record.value.is_null()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cipher record with a null 'kenc' header or value");
  }
  auto parsed = crypto::parse_cipher_record(marker.bytes(), record.value.bytes());
  if (!parsed.ok()) {
    return parsed.error();
  }
  if (!last_dek_ || !std::ranges::equal(last_edek_, parsed->edek)) {
    DekPtr dek = find_dek_(parsed->edek);
    if (!dek) {
      missing_edek_.assign(parsed->edek.begin(), parsed->edek.end());
      missing_dek_ = true;
      return make_error(ErrorCode::kUnavailable, "DEK not cached");
    }
    last_edek_.assign(parsed->edek.begin(), parsed->edek.end());
    last_dek_ = std::move(dek);
  }
  auto decryptor = AesContextCache::for_this_thread().decryptor(last_dek_);
  if (!decryptor.ok()) {
    return decryptor.error();
  }
  decryptor_ = *decryptor;
  parsed_ = *parsed;
  headers_decrypted_ = parsed_.format_version == crypto::kCipherFormatV2;
  if (!headers_decrypted_) {
    value_size = parsed_.plaintext_size();  // decrypted by write_value(), in place
    return ValueAction::kReplaced;
  }
  // Version 2: the headers, which the rewriter needs first, are inside the ciphertext.
  plaintext_.resize(parsed_.plaintext_size());
  if (Status s = crypto::decrypt_cipher_record(*decryptor_, parsed_, plaintext_); !s.ok()) {
    return s.error();
  }
  auto parts = crypto::split_headers_and_value(plaintext_);
  if (!parts.ok()) {
    return parts.error();
  }
  decrypted_headers_ = parts->encoded_headers;
  decrypted_value_ = parts->value;
  value_size = decrypted_value_.size();
  return ValueAction::kReplaced;
}

Status DecryptTransform::write_value(std::span<uint8_t> out) {
  if (!headers_decrypted_) {
    if (Status s = crypto::decrypt_cipher_record(*decryptor_, parsed_, out); !s.ok()) {
      return s;
    }
  } else if (!decrypted_value_.empty()) {
    std::memcpy(out.data(), decrypted_value_.data(), decrypted_value_.size());
  }
  ++decrypted_;
  failed_offset_ = -1;
  return Status::Ok();
}

bool DecryptTransform::rewrite_headers(const RecordView& record, ValueAction action,
                                       std::vector<uint8_t>& new_headers) {
  if (action != ValueAction::kReplaced) {
    return false;
  }
  if (headers_decrypted_) {
    new_headers.insert(new_headers.end(), decrypted_headers_.begin(), decrypted_headers_.end());
  } else {
    append_headers_without_cipher_header(record, cipher_header_, new_headers);
  }
  return true;
}

}  // namespace kenc::record_encryption
