#pragma once
// Client-side proofs for the authentication plugins ghostgate logs in with (its own account),
// and the server side of mysql_native_password for the accounts ghostgate checks itself
// (client-auth.users): the stored hash verifies a client's proof and yields SHA1(password), from
// which ghostgate computes the proofs for its pooled backend connections. Other clients' logins
// are relayed to the backend.
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase_authentication_methods.html

#include <memory>
#include <string>
#include <string_view>
#include <system_error>

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, without its headers here

namespace ghostgate::protocol {

inline constexpr std::string_view native_password_plugin = "mysql_native_password";
inline constexpr std::string_view caching_sha2_plugin = "caching_sha2_password";
inline constexpr std::string_view clear_password_plugin = "mysql_clear_password";

// SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))); empty for an empty password.
std::string native_password_proof(std::string_view password, std::string_view scramble);

// The stored form of a mysql_native_password password: SHA1(SHA1(password)), the 20 bytes that
// mysql.user's authentication_string shows as "*" and 40 hex digits. Empty: no password.
// Errc::malformed unless `text` is "" or "*" + 40 hex digits (either case).
[[nodiscard]] std::error_code parse_native_password_hash(std::string_view text, std::string& hash);
// "*" + 40 upper-case hex digits, as mysql.user shows it ("" for no password).
std::string format_native_password_hash(std::string_view hash);

// The server's check of a mysql_native_password proof against the stored hash. On success
// `stage1` is SHA1(password) (empty for no password), a secret: enough to log in as the account
// (native_proof_from_stage1), so wipe it after use. Errc::auth_failed otherwise. Compares in
// constant time.
[[nodiscard]] std::error_code verify_native_password(std::string_view proof,
                                                     std::string_view scramble,
                                                     std::string_view hash, std::string& stage1);
// The proof over `scramble` from SHA1(password): what native_password_proof computes from the
// password itself. Empty for an empty stage1 (no password).
std::string native_proof_from_stage1(std::string_view stage1, std::string_view scramble);

// SHA256(password) XOR SHA256(SHA256(SHA256(password)) + scramble); empty for empty password.
std::string caching_sha2_proof(std::string_view password, std::string_view scramble);

// The proof for `plugin`, or Errc::auth_plugin_unknown.
[[nodiscard]] std::error_code auth_proof(std::string_view plugin, std::string_view password,
                                         std::string_view scramble, std::string& out);

// caching_sha2_password full authentication without TLS: (password + NUL) XOR scramble,
// encrypted with the server's RSA public key (PEM) using OAEP padding.
[[nodiscard]] std::error_code rsa_encrypt_password(std::string_view password,
                                                   std::string_view scramble,
                                                   std::string_view public_key_pem,
                                                   std::string& out);

// An RSA key pair of ghostgate's own, for the server side of caching_sha2_password full
// authentication: a client on a plain link asks for "the server's" public key and sends its
// password encrypted with it; ghostgate decrypts it and passes it on over its TLS link to the
// backend (which would itself refuse a key request on a secure link, and TiDB has none).
class RsaKeyPair {
 public:
  // A fresh 2048-bit key; nullptr if OpenSSL fails.
  static std::unique_ptr<RsaKeyPair> generate(unsigned bits = 2048);
  ~RsaKeyPair();
  RsaKeyPair(const RsaKeyPair&) = delete;
  RsaKeyPair& operator=(const RsaKeyPair&) = delete;

  // The public key, PEM ("-----BEGIN PUBLIC KEY-----"), as AuthMoreData sends it.
  const std::string& public_pem() const { return public_pem_; }
  // OAEP-decrypts a client's reply and XORs it with the scramble: the password, without its
  // trailing NUL. Errc::malformed if it does not decrypt.
  [[nodiscard]] std::error_code decrypt_password(std::string_view ciphertext,
                                                 std::string_view scramble,
                                                 std::string& password) const;

 private:
  RsaKeyPair() = default;
  evp_pkey_st* key_ = nullptr;
  std::string public_pem_;
};

// Overwrites a secret in place (OPENSSL_cleanse) and empties it.
void wipe(std::string& secret);

}  // namespace ghostgate::protocol
