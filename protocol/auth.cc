#include "protocol/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>

#include "protocol/error.h"

namespace ghostgate::protocol {
namespace {

// One-shot digest of a + b with OpenSSL's EVP interface.
std::string digest(const EVP_MD* md, std::string_view a, std::string_view b = {}) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), a.data(), a.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), b.data(), b.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out, &len) != 1) {
    return {};
  }
  std::string result(reinterpret_cast<char*>(out), len);
  OPENSSL_cleanse(out, sizeof out);
  return result;
}

std::string sha1(std::string_view a, std::string_view b = {}) { return digest(EVP_sha1(), a, b); }
std::string sha256(std::string_view a, std::string_view b = {}) {
  return digest(EVP_sha256(), a, b);
}

}  // namespace

void wipe(std::string& secret) {
  if (!secret.empty()) {
    OPENSSL_cleanse(secret.data(), secret.size());
  }
  secret.clear();
}

std::string native_password_proof(std::string_view password, std::string_view scramble) {
  if (password.empty()) {
    return {};
  }
  std::string stage1 = sha1(password);
  std::string out = native_proof_from_stage1(stage1, scramble);
  wipe(stage1);
  return out;
}

std::string native_proof_from_stage1(std::string_view stage1, std::string_view scramble) {
  if (stage1.empty()) {
    return {};
  }
  std::string stage2 = sha1(stage1);
  std::string out = sha1(scramble.substr(0, 20), stage2);
  for (std::size_t i = 0; i < out.size() && i < stage1.size(); ++i) {
    out[i] = static_cast<char>(out[i] ^ stage1[i]);
  }
  wipe(stage2);
  return out;
}

std::error_code parse_native_password_hash(std::string_view text, std::string& hash) {
  hash.clear();
  if (text.empty()) {
    return {};
  }
  if (text.size() != 41 || text[0] != '*') {
    return Errc::malformed;
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  };
  std::string out;
  for (std::size_t i = 1; i < text.size(); i += 2) {
    const int hi = nibble(text[i]);
    const int lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) {
      return Errc::malformed;
    }
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  hash = std::move(out);
  return {};
}

std::string format_native_password_hash(std::string_view hash) {
  if (hash.empty()) {
    return {};
  }
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out = "*";
  for (char c : hash) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

std::error_code verify_native_password(std::string_view proof, std::string_view scramble,
                                       std::string_view hash, std::string& stage1) {
  wipe(stage1);
  if (hash.empty()) {
    // No password: the client must send none (a server refuses a proof for an empty one).
    return proof.empty() ? std::error_code{} : make_error_code(Errc::auth_failed);
  }
  if (proof.size() != 20 || hash.size() != 20 || scramble.size() < 20) {
    return Errc::auth_failed;
  }
  std::string candidate = sha1(scramble.substr(0, 20), hash);
  for (std::size_t i = 0; i < candidate.size(); ++i) {
    candidate[i] = static_cast<char>(candidate[i] ^ proof[i]);
  }
  std::string check = sha1(candidate);
  const bool ok =
      check.size() == hash.size() && CRYPTO_memcmp(check.data(), hash.data(), hash.size()) == 0;
  wipe(check);
  if (!ok) {
    wipe(candidate);
    return Errc::auth_failed;
  }
  stage1 = std::move(candidate);
  return {};
}

std::string caching_sha2_proof(std::string_view password, std::string_view scramble) {
  if (password.empty()) {
    return {};
  }
  std::string p1 = sha256(password);
  std::string p2 = sha256(p1);
  std::string out = sha256(p2, scramble.substr(0, 20));
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<char>(out[i] ^ p1[i]);
  }
  wipe(p1);
  wipe(p2);
  return out;
}

std::error_code auth_proof(std::string_view plugin, std::string_view password,
                           std::string_view scramble, std::string& out) {
  if (plugin == native_password_plugin || plugin.empty()) {
    out = native_password_proof(password, scramble);
  } else if (plugin == caching_sha2_plugin) {
    out = caching_sha2_proof(password, scramble);
  } else if (plugin == clear_password_plugin) {
    out.assign(password);
    out.push_back('\0');
  } else {
    return Errc::auth_plugin_unknown;
  }
  return {};
}

std::error_code rsa_encrypt_password(std::string_view password, std::string_view scramble,
                                     std::string_view public_key_pem, std::string& out) {
  if (scramble.empty()) {
    return Errc::malformed;
  }
  std::string plain(password);
  plain.push_back('\0');
  for (std::size_t i = 0; i < plain.size(); ++i) {
    plain[i] = static_cast<char>(plain[i] ^ scramble[i % scramble.size()]);
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(public_key_pem.data(), static_cast<int>(public_key_pem.size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr, EVP_PKEY_free);
  if (!key) {
    wipe(plain);
    return Errc::malformed;
  }
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new(key.get(), nullptr), EVP_PKEY_CTX_free);
  std::size_t len = 0;
  std::error_code ec;
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) <= 0 ||
      EVP_PKEY_encrypt(ctx.get(), nullptr, &len,
                       reinterpret_cast<const unsigned char*>(plain.data()), plain.size()) <= 0) {
    ec = Errc::malformed;
  } else {
    out.resize(len);
    if (EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                         reinterpret_cast<const unsigned char*>(plain.data()), plain.size()) <= 0) {
      ec = Errc::malformed;
      out.clear();
    } else {
      out.resize(len);
    }
  }
  wipe(plain);
  return ec;
}

std::unique_ptr<RsaKeyPair> RsaKeyPair::generate(unsigned bits) {
  std::unique_ptr<RsaKeyPair> pair(new RsaKeyPair());
  pair->key_ = EVP_RSA_gen(bits);
  if (pair->key_ == nullptr) {
    return nullptr;
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pair->key_) != 1) {
    return nullptr;
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) {
    return nullptr;
  }
  pair->public_pem_.assign(data, static_cast<std::size_t>(len));
  return pair;
}

RsaKeyPair::~RsaKeyPair() { EVP_PKEY_free(key_); }

std::error_code RsaKeyPair::decrypt_password(std::string_view ciphertext, std::string_view scramble,
                                             std::string& password) const {
  password.clear();
  if (scramble.empty() || ciphertext.empty()) {
    return Errc::malformed;
  }
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key_, nullptr),
                                                                  EVP_PKEY_CTX_free);
  const auto* in = reinterpret_cast<const unsigned char*>(ciphertext.data());
  std::size_t len = 0;
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) <= 0 ||
      EVP_PKEY_decrypt(ctx.get(), nullptr, &len, in, ciphertext.size()) <= 0) {
    return Errc::malformed;
  }
  std::string plain(len, '\0');
  if (EVP_PKEY_decrypt(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len, in,
                       ciphertext.size()) <= 0) {
    wipe(plain);
    return Errc::malformed;
  }
  plain.resize(len);
  for (std::size_t i = 0; i < plain.size(); ++i) {
    plain[i] = static_cast<char>(plain[i] ^ scramble[i % scramble.size()]);
  }
  if (plain.empty() || plain.back() != '\0') {
    wipe(plain);
    return Errc::malformed;
  }
  plain.pop_back();
  password = std::move(plain);
  return {};
}

}  // namespace ghostgate::protocol
