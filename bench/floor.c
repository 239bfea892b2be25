// floor: about the least a program must do to keep a shell open and capture each command's
// stdout, stderr and status. It puts Tether's numbers in scale (bench/compare_floor.sh), so it
// has none of Tether's safety: no nonce (output ending in "M0\n" would fool it), no
// timeouts, no stdin isolation, and it dies on any error.
//
//   floor [--big-pipes] SHELL CMD N              run CMD N times, print microseconds per command
//   floor [--big-pipes] --throughput SHELL BYTES capture `head -c BYTES /dev/zero`, print MB/s
//   floor --spawn N                              spawn `sh -c true` N times (capturing stdout and
//                                                stderr), print microseconds per spawn
//
// In the first two forms the shell may instead be a whole argv, given after `--`, e.g. a shell
// on another host (bench/compare_ssh.sh):
//
//   floor [--big-pipes] CMD N -- PROGRAM [ARG...]
//   floor [--big-pipes] --throughput BYTES -- PROGRAM [ARG...]
//
// --big-pipes grows the stdout and stderr pipes to 1 MiB with F_SETPIPE_SZ. MB is 10^6 bytes.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

// Reads ask for up to 1 MiB, as Tether's do, so one read can empty even a grown pipe.
enum { read_chunk = 1 << 20, big_pipe_size = 1 << 20 };

struct buffer {
  char* data;
  size_t len;
  size_t cap;
};

struct shell {
  pid_t pid;
  int in;
  int out;
  int err;
};

static void die(const char* what) {
  perror(what);
  exit(2);
}

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static char* reserve(struct buffer* b, size_t room) {
  if (b->cap - b->len < room) {
    size_t cap = b->cap != 0 ? b->cap : room;
    while (cap - b->len < room) cap *= 2;
    b->data = realloc(b->data, cap);
    if (b->data == NULL) die("realloc");
    b->cap = cap;
  }
  return b->data + b->len;
}

// Appends one read's worth; returns 0 at end of file.
static int read_into(int fd, struct buffer* b) {
  for (;;) {
    const ssize_t got = read(fd, reserve(b, read_chunk), read_chunk);
    if (got > 0) {
      b->len += (size_t)got;
      return 1;
    }
    if (got == 0) return 0;
    if (errno != EINTR) die("read");
  }
}

static void write_all(int fd, const char* data, size_t len) {
  while (len > 0) {
    const ssize_t put = write(fd, data, len);
    if (put < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    data += put;
    len -= (size_t)put;
  }
}

// The status when stdout ends with "M<digits>\n", else -1. The marker need not start a line:
// output without a final newline (head -c) runs straight into it.
static int stdout_status(const struct buffer* b) {
  if (b->len < 3 || b->data[b->len - 1] != '\n') return -1;
  const size_t end = b->len - 1;
  size_t digits = end;
  while (digits > 0 && b->data[digits - 1] >= '0' && b->data[digits - 1] <= '9') --digits;
  if (digits == end || digits == 0 || b->data[digits - 1] != 'M') return -1;
  return atoi(b->data + digits);
}

static int stderr_done(const struct buffer* b) {
  return b->len >= 2 && memcmp(b->data + b->len - 2, "M\n", 2) == 0;
}

static void make_pipe(int fds[2], int grow) {
  // Close-on-exec everywhere: the dup2 in the child clears it on the ends the child keeps.
  if (pipe2(fds, O_CLOEXEC) != 0) die("pipe2");
  if (grow && fcntl(fds[0], F_SETPIPE_SZ, big_pipe_size) < 0) die("F_SETPIPE_SZ");
}

static pid_t spawn(char* const argv[], int in, int out, int err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (in >= 0) {
    posix_spawn_file_actions_adddup2(&actions, in, 0);
  } else {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, out, 1);
  posix_spawn_file_actions_adddup2(&actions, err, 2);
  pid_t pid;
  const int failed = posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ);
  if (failed != 0) {
    errno = failed;
    die(argv[0]);
  }
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

// argv: the shell's command line, NULL-terminated; looked up on PATH.
static struct shell start_shell(char* const argv[], int big_pipes) {
  int in[2], out[2], err[2];
  make_pipe(in, 0);
  make_pipe(out, big_pipes);
  make_pipe(err, big_pipes);
  const pid_t pid = spawn(argv, in[0], out[1], err[1]);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  return (struct shell){.pid = pid, .in = in[1], .out = out[0], .err = err[0]};
}

static void stop_shell(struct shell* sh) {
  close(sh->in);  // the shell exits at end of input
  close(sh->out);
  close(sh->err);
  while (waitpid(sh->pid, NULL, 0) < 0 && errno == EINTR) {
  }
}

// Sends one prepared command line and captures until both markers; returns the status.
static int run(const struct shell* sh, const char* line, size_t line_len, struct buffer* out,
               struct buffer* err) {
  out->len = 0;
  err->len = 0;
  write_all(sh->in, line, line_len);
  int status = -1;
  int err_done = 0;
  while (status < 0 || !err_done) {
    // A stream whose marker has arrived is left alone, as Tether does.
    struct pollfd fds[2] = {{status < 0 ? sh->out : -1, POLLIN, 0},
                            {err_done ? -1 : sh->err, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (fds[0].revents != 0) {
      if (!read_into(sh->out, out)) die("the shell closed stdout");
      status = stdout_status(out);
    }
    if (fds[1].revents != 0) {
      if (!read_into(sh->err, err)) die("the shell closed stderr");
      err_done = stderr_done(err);
    }
  }
  return status;
}

static char* command_line(const char* command, size_t* len) {
  static const char format[] = "%s\nprintf 'M%%d\\n' $?; printf 'M\\n' >&2\n";
  const int size = snprintf(NULL, 0, format, command);
  char* line = malloc((size_t)size + 1);
  if (line == NULL) die("malloc");
  snprintf(line, (size_t)size + 1, format, command);
  *len = (size_t)size;
  return line;
}

static long parse_count(const char* text) {
  char* end;
  errno = 0;
  const long value = strtol(text, &end, 10);
  if (errno != 0 || *end != '\0' || value <= 0) {
    fprintf(stderr, "floor: not a positive count: %s\n", text);
    exit(2);
  }
  return value;
}

static int round_trip(char* const argv[], const char* command, long count, int big_pipes) {
  struct shell sh = start_shell(argv, big_pipes);
  struct buffer out = {0}, err = {0};
  size_t len;
  char* line = command_line(command, &len);
  // The clock starts after one untimed command: the shell's start-up is not what is measured.
  double start = 0;
  // A benchmark's commands must succeed: a failing one is measuring something else.
  for (long i = -1; i < count; ++i) {
    if (i == 0) start = now_seconds();
    const int status = run(&sh, line, len, &out, &err);
    if (status != 0) {
      fprintf(stderr, "floor: '%s' exited with status %d\n", command, status);
      return 1;
    }
  }
  const double spent = now_seconds() - start;
  printf("%.2f us/cmd\n", spent * 1e6 / (double)count);
  stop_shell(&sh);
  free(line);
  free(out.data);
  free(err.data);
  return 0;
}

static int throughput(char* const argv[], long bytes, int big_pipes) {
  struct shell sh = start_shell(argv, big_pipes);
  struct buffer out = {0}, err = {0};
  char command[64];
  snprintf(command, sizeof command, "head -c %ld /dev/zero", bytes);
  size_t len;
  char* line = command_line(command, &len);
  const double start = now_seconds();
  const int status = run(&sh, line, len, &out, &err);
  const double spent = now_seconds() - start;
  // Everything captured, plus the marker line "M0\n".
  if (status != 0 || out.len != (size_t)bytes + 3 || err.len != 2) {
    fprintf(stderr, "floor: captured %zu bytes, status %d\n", out.len, status);
    return 1;
  }
  printf("%.1f MB/s\n", (double)bytes / spent / 1e6);
  stop_shell(&sh);
  free(line);
  free(out.data);
  free(err.data);
  return 0;
}

// The cost of a fresh process per command, capturing its output, for scale.
static int spawn_each(long count) {
  char* argv[] = {"sh", "-c", "true", NULL};
  struct buffer out = {0}, err = {0};
  const double start = now_seconds();
  for (long i = 0; i < count; ++i) {
    int out_pipe[2], err_pipe[2];
    make_pipe(out_pipe, 0);
    make_pipe(err_pipe, 0);
    const pid_t pid = spawn(argv, -1, out_pipe[1], err_pipe[1]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    out.len = 0;
    err.len = 0;
    struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        die("poll");
      }
      if (fds[0].revents != 0 && !read_into(fds[0].fd, &out)) fds[0].fd = -1;
      if (fds[1].revents != 0 && !read_into(fds[1].fd, &err)) fds[1].fd = -1;
    }
    close(out_pipe[0]);
    close(err_pipe[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) die("waitpid");
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "floor: sh -c true failed\n");
      return 1;
    }
  }
  const double spent = now_seconds() - start;
  printf("%.2f us/spawn\n", spent * 1e6 / (double)count);
  free(out.data);
  free(err.data);
  return 0;
}

static int usage(void) {
  fputs(
      "usage: floor [--big-pipes] SHELL CMD N\n"
      "       floor [--big-pipes] --throughput SHELL BYTES\n"
      "       floor [--big-pipes] CMD N -- PROGRAM [ARG...]\n"
      "       floor [--big-pipes] --throughput BYTES -- PROGRAM [ARG...]\n"
      "       floor --spawn N\n",
      stderr);
  return 2;
}

int main(int argc, char** argv) {
  int arg = 1;
  int big_pipes = 0;
  if (arg < argc && strcmp(argv[arg], "--big-pipes") == 0) {
    big_pipes = 1;
    ++arg;
  }
  const int left = argc - arg;
  if (left == 2 && strcmp(argv[arg], "--spawn") == 0 && !big_pipes) {
    return spawn_each(parse_count(argv[arg + 1]));
  }
  // The argv forms: two words, `--`, then at least the program (argv[argc] is NULL).
  const int argv_form = left >= 4 && strcmp(argv[arg + 2], "--") == 0;
  if (argv_form && strcmp(argv[arg], "--throughput") == 0) {
    return throughput(argv + arg + 3, parse_count(argv[arg + 1]), big_pipes);
  }
  if (argv_form)
    return round_trip(argv + arg + 3, argv[arg], parse_count(argv[arg + 1]), big_pipes);
  if (left == 3 && strcmp(argv[arg], "--throughput") == 0) {
    char* shell[] = {argv[arg + 1], NULL};
    return throughput(shell, parse_count(argv[arg + 2]), big_pipes);
  }
  if (left == 3 && argv[arg][0] != '-') {
    char* shell[] = {argv[arg], NULL};
    return round_trip(shell, argv[arg + 1], parse_count(argv[arg + 2]), big_pipes);
  }
  return usage();
}
