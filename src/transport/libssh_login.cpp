#include "transport/libssh_login.hpp"

#include <errno.h>
#include <sys/socket.h>

#include <cstdlib>
#include <memory>

#include "tether/error.hpp"
#include "transport/libssh_nonblocking.hpp"

namespace tether::ssh {

namespace {

struct key_freer {
  void operator()(ssh_key_struct* key) const { ssh_key_free(key); }
};
using key_ptr = std::unique_ptr<ssh_key_struct, key_freer>;

std::string seconds_text(double seconds) {
  std::string text = std::to_string(seconds);
  text.erase(text.find_last_not_of('0') + 1);
  if (text.back() == '.') text.pop_back();
  return text;
}

}  // namespace

login::login(connection::core& core, connect_options options)
    : core_(core), options_(std::move(options)) {
  configure(core_, options_);
  deadline_ = clock::now() + std::chrono::duration_cast<clock::duration>(
                                 std::chrono::duration<double>(options_.connect_timeout.count()));
  ssh_set_blocking(core_.handle, 0);
}

login::~login() {
  // Whoever keeps the connection after a failure gets it as the rest of Tether expects it.
  if (core_.handle != nullptr) ssh_set_blocking(core_.handle, 1);
}

pollfd login::wanted() const {
  pollfd wait = socket_wait(core_.handle);
  if (wait.fd >= 0) {
    // Until the TCP connection is made, the socket must be waited on for writability too.
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    if (::getpeername(wait.fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0 &&
        errno == ENOTCONN) {
      wait.events |= POLLOUT;
    }
  }
  return wait;
}

bool login::advance(clock::time_point now) {
  if (stage_ == stage::connecting) {
    const int state = ssh_connect(core_.handle);
    if (state == SSH_AGAIN) {
      if (now >= deadline_) fail_on_timeout();
      return false;
    }
    if (state != SSH_OK) {
      throw error(errc::connect_failed,
                  "cannot connect to " + core_.display + ": " + ssh_get_error(core_.handle));
    }
    check_host_key(core_, options_);
    stage_ = stage::asking_methods;
  }
  if (stage_ == stage::asking_methods) {
    // "none" both logs in where no login is needed and asks which methods the server takes.
    const int state = ssh_userauth_none(core_.handle, nullptr);
    if (state == SSH_AUTH_AGAIN) {
      if (now >= deadline_) fail_on_timeout();
      return false;
    }
    if (state == SSH_AUTH_ERROR && ssh_is_connected(core_.handle) == 0) {
      throw error(errc::connect_failed, "lost the connection to " + core_.display +
                                            " while logging in: " + ssh_get_error(core_.handle));
    }
    if (state != SSH_AUTH_SUCCESS) {
      accepted_ = ssh_userauth_list(core_.handle, nullptr);
      plan_methods();
      stage_ = stage::trying_methods;
    } else {
      stage_ = stage::done;
    }
  }
  if (stage_ == stage::trying_methods) {
    if (!try_methods()) {
      if (now >= deadline_) fail_on_timeout();
      return false;
    }
    stage_ = stage::done;
  }
  ssh_set_blocking(core_.handle, 1);
  enable_keepalives(ssh_get_fd(core_.handle), options_.keepalive_interval);
  return true;
}

void login::fail_on_timeout() const {
  const char* doing =
      stage_ == stage::connecting ? "connecting (TCP and key exchange)" : "logging in";
  throw error(errc::connect_failed, "cannot connect to " + core_.display + ": timed out after " +
                                        seconds_text(options_.connect_timeout.count()) +
                                        " s while " + doing);
}

// A person may take a while to answer a prompt: that time is not the server's.
void login::after_user_callback(clock::time_point before) {
  deadline_ += clock::now() - before;
}

void login::plan_methods() {
  if ((accepted_ & SSH_AUTH_METHOD_PUBLICKEY) != 0) {
    if (options_.use_agent) {
      if (std::getenv("SSH_AUTH_SOCK") != nullptr) {
        methods_.push_back(
            {[this](std::string&) { return ssh_userauth_agent(core_.handle, nullptr); },
             "agent keys (refused)"});
      } else {
        tried_ += ", agent (none running)";
      }
    }
    if (!options_.identity_files.empty()) {
      for (const auto& file : options_.identity_files) {
        // The key is read once; the call is made again while the server has not answered.
        auto key = std::make_shared<key_ptr>();
        methods_.push_back({[this, file, key](std::string& note) {
                              if (!*key) {
                                ssh_key raw = nullptr;
                                int imported = ssh_pki_import_privkey_file(file.c_str(), nullptr,
                                                                           nullptr, nullptr, &raw);
                                if (imported != SSH_OK && options_.passphrase) {
                                  const auto before = clock::now();
                                  const std::string passphrase = options_.passphrase(file);
                                  after_user_callback(before);
                                  imported = ssh_pki_import_privkey_file(
                                      file.c_str(), passphrase.c_str(), nullptr, nullptr, &raw);
                                }
                                key->reset(raw);
                                if (imported != SSH_OK) {
                                  note = "key " + file + " (cannot be read" +
                                         std::string(options_.passphrase
                                                         ? ""
                                                         : "; encrypted keys need a passphrase "
                                                           "callback") +
                                         ")";
                                  return static_cast<int>(SSH_AUTH_DENIED);
                                }
                              }
                              return ssh_userauth_publickey(core_.handle, nullptr, key->get());
                            },
                            "key " + file + " (refused)"});
      }
    } else {
      methods_.push_back({[this](std::string&) {
                            return ssh_userauth_publickey_auto(core_.handle, nullptr, nullptr);
                          },
                          "default keys (refused or none)"});
    }
  }
  if (options_.password && (accepted_ & SSH_AUTH_METHOD_PASSWORD) != 0) {
    methods_.push_back({[this](std::string&) {
                          return ssh_userauth_password(core_.handle, nullptr,
                                                       options_.password->c_str());
                        },
                        "password (refused)"});
  }
  if (options_.keyboard_interactive && (accepted_ & SSH_AUTH_METHOD_INTERACTIVE) != 0) {
    // The server may send several rounds of prompts.
    auto rounds = std::make_shared<int>(0);
    methods_.push_back(
        {[this, rounds](std::string&) {
           for (;;) {
             const int state = ssh_userauth_kbdint(core_.handle, nullptr, nullptr);
             if (state != SSH_AUTH_INFO) return state;
             if (++*rounds > 16) return static_cast<int>(SSH_AUTH_DENIED);
             const char* name = ssh_userauth_kbdint_getname(core_.handle);
             const char* instruction = ssh_userauth_kbdint_getinstruction(core_.handle);
             const int count = ssh_userauth_kbdint_getnprompts(core_.handle);
             std::vector<keyboard_interactive_prompt> prompts;
             for (int i = 0; i < count; ++i) {
               char echo = 0;
               const char* text =
                   ssh_userauth_kbdint_getprompt(core_.handle, static_cast<unsigned int>(i), &echo);
               prompts.push_back({text != nullptr ? text : "", echo != 0});
             }
             const auto before = clock::now();
             const auto answers = options_.keyboard_interactive(
                 name != nullptr ? name : "", instruction != nullptr ? instruction : "", prompts);
             after_user_callback(before);
             if (answers.size() != prompts.size()) return static_cast<int>(SSH_AUTH_DENIED);
             for (int i = 0; i < count; ++i) {
               ssh_userauth_kbdint_setanswer(core_.handle, static_cast<unsigned int>(i),
                                             answers[static_cast<std::size_t>(i)].c_str());
             }
           }
         },
         "keyboard-interactive (refused)"});
  }
}

// True once logged in; false while a method waits for the server. Throws when every method
// has been refused.
bool login::try_methods() {
  for (; current_ < methods_.size(); ++current_) {
    std::string note;
    const int state = methods_[current_].call(note);
    if (state == SSH_AUTH_AGAIN) return false;
    if (state == SSH_AUTH_SUCCESS) return true;
    if (state == SSH_AUTH_ERROR && ssh_is_connected(core_.handle) == 0) {
      throw error(errc::connect_failed, "lost the connection to " + core_.display +
                                            " while logging in: " + ssh_get_error(core_.handle));
    }
    tried_ += ", " + (note.empty() ? methods_[current_].refused : note);
  }
  std::string accepted;
  if ((accepted_ & SSH_AUTH_METHOD_PUBLICKEY) != 0) accepted += " publickey";
  if ((accepted_ & SSH_AUTH_METHOD_PASSWORD) != 0) accepted += " password";
  if ((accepted_ & SSH_AUTH_METHOD_INTERACTIVE) != 0) accepted += " keyboard-interactive";
  throw error(errc::auth_failed, "cannot log in to " + core_.display + ": the server accepts" +
                                     (accepted.empty() ? " nothing we offer" : accepted) +
                                     "; tried" + (tried_.empty() ? " nothing" : tried_.substr(1)));
}

}  // namespace tether::ssh
