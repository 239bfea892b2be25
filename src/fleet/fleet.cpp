#include "tether/fleet.hpp"

#include <errno.h>
#include <string.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <map>
#include <thread>

#include "fleet/line_splitter.hpp"
#include "fleet/target_spec.hpp"
#include "loop/event_loop.hpp"
#include "session/session_core.hpp"

namespace tether {

using session_detail::clock;
using session_detail::session_core;

namespace {

seconds since(clock::time_point start, clock::time_point now) {
  return std::chrono::duration_cast<seconds>(now - start);
}

// Names as given, made unique: two sessions on the same host are "web1" and "web1#2".
std::vector<std::string> unique_names(std::vector<std::string> names) {
  std::map<std::string, int> seen;
  for (auto& name : names) {
    const int count = ++seen[name];
    if (count > 1) name += "#" + std::to_string(count);
  }
  return names;
}

}  // namespace

struct fleet::impl {
  enum class stage {
    unopened,  // no session yet
    queued,    // waiting for a start slot
    opening,   // its session is starting
    ready,     // open and idle (or dead: its core says so)
    running,   // running the fleet's command
    failed,    // could not be opened
  };
  struct member {
    std::string name;
    session_options options;
    std::unique_ptr<session_core> core;
    stage where = stage::unopened;
    std::optional<error> open_failure;
    // The operation under way.
    bool in_round = false;   // part of the operation and not finished yet
    bool took_part = false;  // part of the operation
    bool wants_command = false;
    target_result pending;
    clock::time_point command_started;
    std::array<fleet_detail::line_splitter, 2> lines;
    // With on_line and an output cap: bytes passed on per stream, and whether some were dropped.
    std::array<std::size_t, 2> streamed{};
    std::array<bool, 2> capped{};
    // What the loop watches for it.
    std::vector<pollfd> fds;
    std::uint64_t generation = ~std::uint64_t{0};
    bool touched = false;
  };

  std::vector<member> members;
  std::size_t max_connecting;
  std::size_t connecting = 0;
  std::deque<std::size_t> start_queue;
  std::size_t outstanding = 0;  // members of the round without a result yet
  bool interrupted = false;     // interrupt() came during this round
  clock::time_point round_started;
  std::string command;
  fleet_run_options options;
  loop::event_loop loop;
  std::vector<loop::event_loop::readiness> ready;

  impl(std::vector<session_options> sessions, std::vector<std::string> names, std::size_t limit)
      : max_connecting(std::max<std::size_t>(limit, 1)) {
    names = unique_names(std::move(names));
    members.resize(sessions.size());
    for (std::size_t i = 0; i < sessions.size(); ++i) {
      members[i].name = std::move(names[i]);
      members[i].options = std::move(sessions[i]);
    }
  }

  ~impl() { close_all(); }
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  // Sessions close side by side: closing one over the ssh client waits for a helper ssh to
  // kill its remote commands (up to 2 s on a stuck link), so one after another would add up.
  void close_all() noexcept {
    std::vector<session_core*> open;
    for (auto& m : members) {
      if (m.core) open.push_back(m.core.get());
    }
    const std::size_t workers = std::min<std::size_t>(open.size(), 32);
    if (workers <= 1) {
      for (auto* core : open) core->close();
      return;
    }
    std::atomic<std::size_t> next{0};
    const auto work = [&] {
      for (std::size_t i = next++; i < open.size(); i = next++) open[i]->close();
    };
    std::vector<std::thread> helpers;
    try {
      for (std::size_t i = 1; i < workers; ++i) helpers.emplace_back(work);
    } catch (...) {
      // No thread to be had: the ones running and this one do the rest.
    }
    work();
    for (auto& helper : helpers) helper.join();
  }

  // ---- rounds

  void begin_round(const std::vector<std::size_t>& only) {
    if (outstanding != 0) throw error(errc::invalid_argument, "the fleet is busy");
    interrupted = false;
    for (const std::size_t i : only) {
      if (i >= members.size()) {
        throw error(errc::invalid_argument, "no target at position " + std::to_string(i));
      }
    }
    round_started = clock::now();
    for (auto& m : members) m.in_round = only.empty();
    for (const std::size_t i : only) members[i].in_round = true;
    for (auto& m : members) m.took_part = m.in_round;
    outstanding = 0;
    for (std::size_t i = 0; i < members.size(); ++i) {
      auto& m = members[i];
      m.pending = target_result{};
      m.pending.target = m.name;
      m.pending.index = i;
      if (m.in_round) ++outstanding;
    }
  }

  void begin(bool with_command) {
    for (std::size_t i = 0; i < members.size(); ++i) {
      auto& m = members[i];
      if (!m.in_round) continue;
      m.wants_command = with_command;
      switch (m.where) {
        case stage::unopened:
          m.where = stage::queued;
          start_queue.push_back(i);
          break;
        case stage::failed:
          if (m.options.restart_on_death) {
            m.where = stage::queued;
            start_queue.push_back(i);
          } else {
            const auto& failure = *m.open_failure;
            complete(m, failure.partial(), failure);
          }
          break;
        case stage::ready:
          if (with_command) {
            begin_command(i);
          } else {
            complete(m, result{}, std::nullopt);
          }
          break;
        default:
          break;
      }
    }
    pump();
  }

  // Start queued sessions while start slots are free.
  void pump() {
    while (connecting < max_connecting && !start_queue.empty()) {
      const std::size_t i = start_queue.front();
      start_queue.pop_front();
      auto& m = members[i];
      try {
        if (!m.core) m.core = std::make_unique<session_core>(m.options);
      } catch (const error& failure) {
        open_failed(m, failure);
        continue;
      }
      m.where = stage::opening;
      ++connecting;
      m.core->begin_start();
      if (!m.core->busy()) {
        opened(i, clock::now());
      } else {
        rewatch(i);
      }
    }
  }

  void open_failed(member& m, const error& failure) {
    m.where = stage::failed;
    m.open_failure = failure;
    complete(m, failure.partial(), failure);
  }

  // A member's start-up has ended.
  void opened(std::size_t i, clock::time_point now) {
    auto& m = members[i];
    --connecting;
    auto [done, failure] = m.core->take_outcome();
    rewatch(i);
    if (failure) {
      open_failed(m, *failure);
      return;
    }
    m.where = stage::ready;
    m.pending.connected_at = since(round_started, now);
    if (m.wants_command && !interrupted) {
      begin_command(i);
    } else {
      complete(m, not_run(), std::nullopt);
    }
  }

  // The result of a target whose command was never started: none was asked for (open()), or
  // interrupt() came while its session was still starting.
  result not_run() const {
    result none;
    if (interrupted) none.error = "not run: interrupted before this target's session was ready";
    return none;
  }

  void interrupt_round() {
    interrupted = true;
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (members[i].where != stage::running) continue;
      members[i].core->interrupt();
      rewatch(i);  // an interrupt may bring a descriptor to wait on (a helper's pidfd)
    }
    // Targets still waiting for a start slot will not run the command at all.
    for (const std::size_t i : start_queue) {
      auto& m = members[i];
      m.where = m.core ? stage::ready : stage::unopened;
      if (m.where == stage::ready && m.open_failure) m.where = stage::failed;
      complete(m, not_run(), std::nullopt);
    }
    start_queue.clear();
  }

  void begin_command(std::size_t i) {
    auto& m = members[i];
    tether::run_options each;
    each.timeout = options.timeout;
    each.idle_timeout = options.idle_timeout;
    each.stdin_data = options.stdin_data;
    each.output_cap = options.output_cap;
    if (options.on_line) {
      m.streamed = {};
      m.capped = {};
      each.on_output = [this, i](output_stream stream, std::string_view bytes) {
        auto& who = members[i];
        const std::size_t s = stream == output_stream::out ? 0 : 1;
        // The cap bounds what is passed on as it bounds what a result keeps.
        if (options.output_cap) {
          const std::size_t room =
              *options.output_cap - std::min(*options.output_cap, who.streamed[s]);
          if (bytes.size() > room) {
            bytes = bytes.substr(0, room);
            who.capped[s] = true;
          }
          who.streamed[s] += bytes.size();
          if (bytes.empty()) return;
        }
        who.lines[s].feed(bytes, [&](std::string_view line) { emit(i, stream, line); });
      };
    }
    try {
      m.command_started = clock::now();
      m.core->begin_command(command, each);
    } catch (const error& failure) {
      complete(m, failure.partial(), failure);
      return;
    }
    m.where = stage::running;
    rewatch(i);
    // A restart (restart_on_death) that failed at once has already ended the command.
    if (!m.core->busy()) command_ended(i);
  }

  void emit(std::size_t i, output_stream stream, std::string_view line) {
    options.on_line(target_line{i, members[i].name, stream, line});
  }

  void command_ended(std::size_t i) {
    auto& m = members[i];
    auto [done, failure] = m.core->take_outcome();
    m.where = stage::ready;
    done.out_truncated = done.out_truncated || m.capped[0];
    done.err_truncated = done.err_truncated || m.capped[1];
    if (options.on_line) {
      for (auto stream : {output_stream::out, output_stream::err}) {
        m.lines[stream == output_stream::out ? 0 : 1].flush(
            [&](std::string_view line) { emit(i, stream, line); });
      }
    }
    if (done.first_output) {
      m.pending.first_byte_at =
          since(round_started, m.command_started +
                                   std::chrono::duration_cast<clock::duration>(*done.first_output));
    }
    rewatch(i);
    complete(m, std::move(done), failure);
  }

  void complete(member& m, result done, const std::optional<error>& failure) {
    if (!m.in_round) return;
    m.in_round = false;
    --outstanding;
    done.target = m.name;
    if (failure) {
      m.pending.error = failure->code();
      if (done.error.empty()) done.error = failure->what();
    }
    m.pending.outcome = std::move(done);
    m.pending.finished_at = since(round_started, clock::now());
  }

  // ---- the loop

  void rewatch(std::size_t i) {
    auto& m = members[i];
    m.fds.clear();
    if (m.core && m.core->busy()) m.core->add_poll_fds(m.fds);
    const std::uint64_t generation = m.core ? m.core->descriptor_generation() : 0;
    loop.watch(i, m.fds, generation != m.generation);
    m.generation = generation;
  }

  std::optional<clock::time_point> next_deadline() const {
    std::optional<clock::time_point> soonest;
    for (const auto& m : members) {
      if (m.where != stage::opening && m.where != stage::running) continue;
      const auto deadline = m.core->next_deadline();
      if (deadline && (!soonest || *deadline < *soonest)) soonest = deadline;
    }
    return soonest;
  }

  // Wait (until `wait_until`) and advance every member that has something to do.
  void process(std::optional<clock::time_point> wait_until) {
    ready.clear();
    if (loop.wait(wait_until, ready) < 0) {
      throw error(errc::io_failed,
                  std::string("waiting for the fleet failed: ") + ::strerror(errno));
    }
    for (const auto& event : ready) {
      auto& m = members[event.watcher];
      for (auto& entry : m.fds) {
        if (entry.fd == event.fd) entry.revents = static_cast<short>(entry.revents | event.revents);
      }
      m.touched = true;
    }
    const auto now = clock::now();
    for (std::size_t i = 0; i < members.size(); ++i) {
      auto& m = members[i];
      if (m.where != stage::opening && m.where != stage::running) continue;
      const auto deadline = m.core->next_deadline();
      if (!m.touched && !(deadline && *deadline <= now)) continue;
      m.touched = false;
      try {
        m.core->advance(m.fds.data(), m.fds.size(), now);
        for (auto& entry : m.fds) entry.revents = 0;
        if (!m.core->busy()) {
          if (m.where == stage::opening) {
            opened(i, now);
          } else {
            command_ended(i);
          }
        } else {
          rewatch(i);
        }
      } catch (...) {
        // An on_line callback threw (here or in the last line of a command that just ended).
        abandon_running();
        throw;
      }
    }
    pump();
  }

  // A callback threw mid-round: sessions still running may still print, so none of them can
  // frame another command. Close them; their results say so.
  void abandon_running() noexcept {
    for (std::size_t i = 0; i < members.size(); ++i) {
      auto& m = members[i];
      m.lines = {};
      if (m.core && m.core->busy()) m.core->close();
      if (m.where == stage::opening) --connecting;
      if (m.in_round) {
        m.where = m.core ? stage::ready : stage::unopened;
        const error failure(errc::session_closed, "the fleet's run was abandoned");
        complete(m, result{}, failure);
      }
      try {
        rewatch(i);
      } catch (...) {
      }
    }
    start_queue.clear();
  }

  std::vector<target_result> take() {
    if (outstanding != 0) return {};
    std::vector<target_result> out;
    out.reserve(members.size());
    for (auto& m : members) {
      if (m.took_part) out.push_back(std::move(m.pending));
      m.pending = target_result{};
      m.took_part = false;
    }
    return out;
  }
};

fleet::fleet(const std::vector<std::string>& targets, fleet_options options) {
  std::vector<session_options> sessions;
  sessions.reserve(targets.size());
  for (const auto& spec : targets) {
    session_options one = options.session;
    fleet_detail::apply_target(spec, one);
    sessions.push_back(std::move(one));
  }
  impl_ = std::make_unique<impl>(std::move(sessions), targets, options.max_connecting);
}

fleet::fleet(std::vector<session_options> sessions, std::size_t max_connecting) {
  std::vector<std::string> names;
  names.reserve(sessions.size());
  for (const auto& one : sessions) {
    // The name the session itself would report, without starting it.
    names.push_back(session_core(one).target());
  }
  impl_ = std::make_unique<impl>(std::move(sessions), std::move(names), max_connecting);
}

fleet::fleet(fleet&&) noexcept = default;
fleet& fleet::operator=(fleet&&) noexcept = default;
fleet::~fleet() = default;

void fleet::begin_open() {
  impl_->begin_round({});
  impl_->begin(false);
}

void fleet::begin_run(std::string_view command, const fleet_run_options& options) {
  if (command.find('\0') != std::string_view::npos) {
    throw error(errc::invalid_argument,
                "a command cannot contain a NUL byte; pass binary data as stdin_data");
  }
  impl_->begin_round(options.only);
  impl_->command = command;
  impl_->options = options;
  try {
    impl_->begin(true);
  } catch (...) {
    impl_->abandon_running();  // an on_line callback threw on output left from before
    throw;
  }
}

std::vector<target_result> fleet::open() {
  begin_open();
  while (busy()) impl_->process(impl_->next_deadline());
  return take_results();
}

std::vector<target_result> fleet::run(std::string_view command, const fleet_run_options& options) {
  begin_run(command, options);
  while (busy()) impl_->process(impl_->next_deadline());
  return take_results();
}

bool fleet::busy() const {
  return impl_ && impl_->outstanding != 0;
}

int fleet::descriptor() const {
  return impl_->loop.fd();
}

std::optional<std::chrono::steady_clock::time_point> fleet::next_deadline() const {
  return impl_->next_deadline();
}

void fleet::step() {
  if (busy()) impl_->process(clock::now());
}

fleet::progress_counts fleet::progress() const {
  progress_counts counts;
  for (const auto& m : impl_->members) {
    if (!m.took_part) continue;
    if (m.in_round) {
      ++counts.running;
    } else {
      ++counts.done;
      if (!m.pending.ok()) ++counts.failed;
    }
  }
  return counts;
}

std::vector<target_result> fleet::take_results() {
  return impl_->take();
}

void fleet::interrupt() {
  if (busy()) impl_->interrupt_round();
}

std::size_t fleet::size() const {
  return impl_->members.size();
}

const std::string& fleet::target(std::size_t index) const {
  return impl_->members.at(index).name;
}

bool fleet::alive(std::size_t index) const {
  const auto& m = impl_->members.at(index);
  return m.core && m.core->alive();
}

void fleet::close() noexcept {
  if (impl_) impl_->close_all();
}

}  // namespace tether
