// ghostgate's own RSA key pair (caching_sha2 full authentication for a plain client when the
// backend link is TLS): what a client encrypts with the public key decrypts to its password.

#include <gtest/gtest.h>

#include <string>

#include "protocol/auth.h"
#include "protocol/error.h"

namespace ghostgate::protocol {
namespace {

const std::string scramble = "abcdefghij0123456789";

TEST(RsaKeyPair, RoundTripsWhatAClientEncrypts) {
  auto pair = RsaKeyPair::generate();
  ASSERT_NE(pair, nullptr);
  EXPECT_EQ(pair->public_pem().rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
  for (const std::string& password :
       {std::string("secret"), std::string(), std::string(60, 'p'), std::string("a\0b", 3)}) {
    std::string cipher;
    ASSERT_FALSE(rsa_encrypt_password(password, scramble, pair->public_pem(), cipher));
    std::string back;
    ASSERT_FALSE(pair->decrypt_password(cipher, scramble, back));
    EXPECT_EQ(back, password);
  }
}

TEST(RsaKeyPair, RefusesWhatDoesNotDecrypt) {
  auto pair = RsaKeyPair::generate();
  ASSERT_NE(pair, nullptr);
  std::string back = "untouched";
  EXPECT_EQ(pair->decrypt_password("garbage", scramble, back), make_error_code(Errc::malformed));
  EXPECT_TRUE(back.empty());
  EXPECT_EQ(pair->decrypt_password("", scramble, back), make_error_code(Errc::malformed));
  // Encrypted for another key.
  auto other = RsaKeyPair::generate();
  std::string cipher;
  ASSERT_FALSE(rsa_encrypt_password("secret", scramble, other->public_pem(), cipher));
  EXPECT_EQ(pair->decrypt_password(cipher, scramble, back), make_error_code(Errc::malformed));
  // With the wrong scramble the trailing NUL does not come out: refused, not a wrong password.
  ASSERT_FALSE(rsa_encrypt_password("secret", scramble, pair->public_pem(), cipher));
  EXPECT_EQ(pair->decrypt_password(cipher, "zzzzzzzzzzzzzzzzzzzz", back),
            make_error_code(Errc::malformed));
}

}  // namespace
}  // namespace ghostgate::protocol
