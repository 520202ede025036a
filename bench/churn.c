// Connection churn for bench/compare.sh: short-lived jobs (and replicators that reconnect per
// batch) connect, log in, run `SELECT 1` and quit. N threads do that in a loop for S seconds;
// prints one JSON line: connections, connections/s, p50/p99 of one connect-to-quit cycle, and
// the client's own CPU, so a client-bound figure shows (compare with the direct run).
//
//   cc -O2 -o churn bench/churn.c -lssl -lcrypto -lpthread
//   churn --port P [--host H] [--user U] [--password PW] [--threads 8] [--time 5] [--tls]
//
// The MySQL protocol by hand (mysql_native_password, with an auth switch if asked), not
// Connector/C: libmariadb builds a new OpenSSL context per connection (CA store, providers:
// about 25 ms of CPU each here), which would make every TLS figure the client's own cost. One
// SSL_CTX is shared here; every connection still makes a full TLS handshake (no session
// resumption), as a new process would. In C rather than Python: at thousands of connections/s a
// Python client's own work would be the limit.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char* host = "127.0.0.1";
static const char* user = "root";
static const char* password = "rootpw";
static unsigned port = 0;
static int threads = 8;
static double seconds = 5;
static int use_tls = 0;
static double deadline;
static SSL_CTX* tls_ctx;

enum {
  max_samples = 1 << 20,
  cap_long_password = 1,
  cap_protocol_41 = 1 << 9,
  cap_ssl = 1 << 11,
  cap_transactions = 1 << 13,
  cap_secure_connection = 1 << 15,
  cap_plugin_auth = 1 << 19,
};

struct Conn {
  int fd;
  SSL* ssl;
  uint8_t buf[4096];
  size_t begin, end;
  uint8_t seq;
};

struct Worker {
  pthread_t thread;
  unsigned long done;
  unsigned long errors;
  char last_error[200];
  double* samples;  // cycle times, seconds
  unsigned long nsamples;
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int conn_write(struct Conn* c, const uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t k = c->ssl ? SSL_write(c->ssl, p, (int)n) : write(c->fd, p, n);
    if (k <= 0) {
      return -1;
    }
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

// One packet's payload (single frame, < 4 KiB) into out; returns its length or -1.
static int read_packet(struct Conn* c, uint8_t* out) {
  for (;;) {
    const size_t have = c->end - c->begin;
    if (have >= 4) {
      const size_t len = c->buf[c->begin] | c->buf[c->begin + 1] << 8 | c->buf[c->begin + 2] << 16;
      if (len + 4 > sizeof c->buf) {
        return -1;
      }
      if (have >= len + 4) {
        c->seq = (uint8_t)(c->buf[c->begin + 3] + 1);
        memcpy(out, c->buf + c->begin + 4, len);
        c->begin += len + 4;
        return (int)len;
      }
    }
    if (c->begin > 0) {
      memmove(c->buf, c->buf + c->begin, have);
      c->end = have;
      c->begin = 0;
    }
    const ssize_t k = c->ssl ? SSL_read(c->ssl, c->buf + c->end, (int)(sizeof c->buf - c->end))
                             : read(c->fd, c->buf + c->end, sizeof c->buf - c->end);
    if (k <= 0) {
      return -1;
    }
    c->end += (size_t)k;
  }
}

static int write_packet(struct Conn* c, const uint8_t* payload, size_t n) {
  uint8_t frame[1024];
  if (n + 4 > sizeof frame) {
    return -1;
  }
  frame[0] = (uint8_t)n;
  frame[1] = (uint8_t)(n >> 8);
  frame[2] = (uint8_t)(n >> 16);
  frame[3] = c->seq++;
  memcpy(frame + 4, payload, n);
  return conn_write(c, frame, n + 4);
}

// SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))).
static void native_password(const uint8_t* scramble, uint8_t out[20]) {
  uint8_t p1[20], p2[20], p3[20];
  SHA1((const uint8_t*)password, strlen(password), p1);
  SHA1(p1, 20, p2);
  SHA_CTX s;
  SHA1_Init(&s);
  SHA1_Update(&s, scramble, 20);
  SHA1_Update(&s, p2, 20);
  SHA1_Final(p3, &s);
  for (int i = 0; i < 20; ++i) {
    out[i] = p1[i] ^ p3[i];
  }
}

static const char* cycle(struct Conn* c) {
  uint8_t p[4096];
  int n = read_packet(c, p);
  if (n < 40 || p[0] != 10) {
    return n > 3 && p[0] == 0xff ? "greeting: error from server" : "bad greeting";
  }
  // Protocol 10: version\0, id(4), scramble 1(8), 0, caps low(2), charset, status(2),
  // caps high(2), auth data length, reserved(10), scramble 2 (12, then \0).
  const uint8_t* q = memchr(p + 1, 0, (size_t)n - 1);
  if (q == NULL || q + 1 + 4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10 + 12 > p + n) {
    return "short greeting";
  }
  q += 1 + 4;
  uint8_t scramble[20];
  memcpy(scramble, q, 8);
  q += 8 + 1;
  const uint32_t server_caps = q[0] | q[1] << 8 | (uint32_t)(q[5] | q[6] << 8) << 16;
  q += 2 + 1 + 2 + 2 + 1 + 10;
  memcpy(scramble + 8, q, 12);
  uint32_t caps = cap_long_password | cap_protocol_41 | cap_transactions | cap_secure_connection |
                  cap_plugin_auth;
  uint8_t r[512];
  if (use_tls) {
    if (!(server_caps & cap_ssl)) {
      return "server offers no TLS";
    }
    caps |= cap_ssl;
    memset(r, 0, 32);
    memcpy(r, &caps, 4);
    r[4] = 0, r[5] = 0, r[6] = 0, r[7] = 0x40;  // max packet 1 GiB
    r[8] = 45;
    if (write_packet(c, r, 32) != 0) {
      return "write failed";
    }
    c->ssl = SSL_new(tls_ctx);
    SSL_set_fd(c->ssl, c->fd);
    if (SSL_connect(c->ssl) != 1) {
      return "TLS handshake failed";
    }
  }
  size_t k = 0;
  memcpy(r, &caps, 4);
  r[4] = 0, r[5] = 0, r[6] = 0, r[7] = 0x40;
  r[8] = 45;
  memset(r + 9, 0, 23);
  k = 32;
  const size_t ulen = strlen(user);
  memcpy(r + k, user, ulen + 1);
  k += ulen + 1;
  r[k++] = 20;
  native_password(scramble, r + k);
  k += 20;
  memcpy(r + k, "mysql_native_password", 22);
  k += 22;
  if (write_packet(c, r, k) != 0) {
    return "write failed";
  }
  for (;;) {
    n = read_packet(c, p);
    if (n < 1) {
      return "connection lost during login";
    }
    if (p[0] == 0x00) {
      break;
    }
    if (p[0] == 0xff) {
      return "login refused";
    }
    if (p[0] == 0xfe && n >= 1 + 22 + 20) {  // auth switch: plugin\0, scramble (20) \0
      const uint8_t* z = memchr(p + 1, 0, (size_t)n - 1);
      if (z == NULL || z + 1 + 20 > p + n) {
        return "bad auth switch";
      }
      uint8_t proof[20];
      memcpy(scramble, z + 1, 20);
      native_password(scramble, proof);
      if (write_packet(c, proof, 20) != 0) {
        return "write failed";
      }
      continue;
    }
    return "unexpected login packet";
  }
  c->seq = 0;
  const char* query = "\x03SELECT 1";
  if (write_packet(c, (const uint8_t*)query, 9) != 0) {
    return "write failed";
  }
  // Column count, column definition, EOF, row, EOF.
  int eofs = 0;
  while (eofs < 2) {
    n = read_packet(c, p);
    if (n < 1) {
      return "connection lost during SELECT 1";
    }
    if (p[0] == 0xff) {
      return "SELECT 1 failed";
    }
    if (p[0] == 0xfe && n < 9) {
      ++eofs;
    }
  }
  c->seq = 0;
  const uint8_t quit = 0x01;
  write_packet(c, &quit, 1);
  return NULL;
}

static void* run(void* arg) {
  struct Worker* w = arg;
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, host, &addr.sin_addr);
  struct Conn* c = malloc(sizeof *c);
  while (now() < deadline) {
    const double t0 = now();
    memset(c, 0, offsetof(struct Conn, buf));
    c->begin = c->end = 0;
    c->seq = 0;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const char* err =
        connect(c->fd, (struct sockaddr*)&addr, sizeof addr) == 0 ? cycle(c) : "connect failed";
    if (c->ssl) {
      SSL_free(c->ssl);  // no close_notify wait: the client has quit
    }
    close(c->fd);
    if (err) {
      ++w->errors;
      snprintf(w->last_error, sizeof w->last_error, "%s", err);
    } else {
      ++w->done;
      if (w->nsamples < max_samples) {
        w->samples[w->nsamples++] = now() - t0;
      }
    }
  }
  free(c);
  return NULL;
}

static int cmp(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : "";
    if (!strcmp(a, "--port")) {
      port = (unsigned)atoi(v), ++i;
    } else if (!strcmp(a, "--host")) {
      host = v, ++i;
    } else if (!strcmp(a, "--user")) {
      user = v, ++i;
    } else if (!strcmp(a, "--password")) {
      password = v, ++i;
    } else if (!strcmp(a, "--threads")) {
      threads = atoi(v), ++i;
    } else if (!strcmp(a, "--time")) {
      seconds = atof(v), ++i;
    } else if (!strcmp(a, "--tls")) {
      use_tls = 1;
    } else {
      fprintf(stderr, "churn: unknown argument %s\n", a);
      return 2;
    }
  }
  if (port == 0 || threads < 1) {
    fprintf(stderr, "usage: churn --port P [--threads N] [--time S] [--tls]\n");
    return 2;
  }
  if (use_tls) {
    tls_ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);  // a throwaway test CA
    SSL_CTX_set_session_cache_mode(tls_ctx, SSL_SESS_CACHE_OFF);
  }
  struct Worker* ws = calloc((size_t)threads, sizeof *ws);
  const double start = now();
  deadline = start + seconds;
  for (int i = 0; i < threads; ++i) {
    ws[i].samples = malloc(sizeof(double) * max_samples);
    pthread_create(&ws[i].thread, NULL, run, &ws[i]);
  }
  unsigned long done = 0, errors = 0, n = 0;
  const char* last_error = "";
  for (int i = 0; i < threads; ++i) {
    pthread_join(ws[i].thread, NULL);
    done += ws[i].done;
    errors += ws[i].errors;
    n += ws[i].nsamples;
    if (ws[i].errors) {
      last_error = ws[i].last_error;
    }
  }
  const double elapsed = now() - start;
  double* all = malloc(sizeof(double) * (n ? n : 1));
  unsigned long k = 0;
  for (int i = 0; i < threads; ++i) {
    memcpy(all + k, ws[i].samples, sizeof(double) * ws[i].nsamples);
    k += ws[i].nsamples;
  }
  qsort(all, n, sizeof(double), cmp);
  const double p50 = n ? all[n / 2] : 0, p99 = n ? all[(n * 99) / 100] : 0;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  const double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
                     ru.ru_stime.tv_usec / 1e6;
  printf(
      "{\"connections\": %lu, \"seconds\": %.3f, \"per_sec\": %.1f, \"errors\": %lu, "
      "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"client_cpu_s\": %.3f, \"tls\": %s, "
      "\"last_error\": \"%s\"}\n",
      done, elapsed, done / elapsed, errors, p50 * 1e3, p99 * 1e3, cpu, use_tls ? "true" : "false",
      last_error);
  return done > 0 ? 0 : 1;
}
