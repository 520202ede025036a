// UploadScanner (the lead's LOCAL INFILE upload pass-through) on the upload the MariaDB capture
// sent, in every chunking, and on a 16 MiB chunk whose closing empty frame is not the end.

#include "protocol/packet_scanner.h"

#include <gtest/gtest.h>

#include "protocol/constants.h"
#include "protocol/frame.h"
#include "protocol/golden_mariadb.h"
#include "protocol/local_infile.h"
#include "protocol/test_util.h"

namespace ghostgate::protocol {
namespace {

using testing::ByteVec;

TEST(UploadScanner, CapturedUploadInEveryTwoChunkSplit) {
  const ByteVec up(std::begin(golden::eof_local_infile_upload_frames),
                   std::end(golden::eof_local_infile_upload_frames));
  ByteVec stream = up;
  stream.push_back(0x42);  // the server's next packet is not part of the upload
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    UploadScanner s;
    s.start();
    std::size_t used = s.consume(Bytes(stream.data(), split));
    used += s.consume(Bytes(stream.data() + used, stream.size() - used));
    EXPECT_TRUE(s.done()) << split;
    EXPECT_EQ(used, up.size()) << split;
    EXPECT_EQ(s.next_sequence(), 4) << split;
    EXPECT_EQ(s.bytes(), 12u) << split;
  }
}

TEST(UploadScanner, ByteByByte) {
  const ByteVec up(std::begin(golden::eof_local_infile_upload_frames),
                   std::end(golden::eof_local_infile_upload_frames));
  UploadScanner s;
  s.start();
  std::size_t used = 0;
  for (std::size_t avail = 1; avail <= up.size(); ++avail) {
    used += s.consume(Bytes(up.data() + used, avail - used));
  }
  EXPECT_TRUE(s.done());
  EXPECT_EQ(used, up.size());
}

TEST(UploadScanner, SixteenMiBChunkThenEnd) {
  ByteVec out;
  std::uint8_t seq = 2;
  append_local_infile_data(out, seq, ByteVec(max_frame_payload, 'x'));
  append_local_infile_data(out, seq, ByteVec(10, 'y'));
  append_local_infile_end(out, seq);
  for (std::size_t split : {std::size_t{3}, std::size_t{4}, max_frame_payload + 4,
                            max_frame_payload + 8, out.size() - 4, out.size() - 1}) {
    UploadScanner s;
    s.start();
    std::size_t used = s.consume(Bytes(out.data(), split));
    EXPECT_FALSE(s.done()) << split;
    used += s.consume(Bytes(out.data() + used, out.size() - used));
    EXPECT_TRUE(s.done()) << split;
    EXPECT_EQ(used, out.size()) << split;
    EXPECT_EQ(s.next_sequence(), seq) << split;
    EXPECT_EQ(s.bytes(), max_frame_payload + 10) << split;
  }
}

TEST(UploadScanner, AgreesWithLocalInfileUpload) {
  // Both followers must stop at the same byte on well-sequenced uploads.
  ByteVec out;
  std::uint8_t seq = 2;
  for (std::size_t n : {std::size_t{1}, std::size_t{300}, max_frame_payload, std::size_t{5}}) {
    append_local_infile_data(out, seq, ByteVec(n, 'z'));
  }
  append_local_infile_end(out, seq);
  out.push_back(0);
  UploadScanner a;
  a.start();
  LocalInfileUpload b;
  b.start(2);
  std::error_code ec;
  EXPECT_EQ(a.consume(out), b.consume(out, ec));
  EXPECT_FALSE(ec);
  EXPECT_TRUE(a.done() && b.done());
  EXPECT_EQ(a.next_sequence(), b.next_sequence());
  EXPECT_EQ(a.bytes(), b.bytes());
}

}  // namespace
}  // namespace ghostgate::protocol
