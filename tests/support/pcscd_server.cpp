#include "tests/support/pcscd_server.hpp"

#include "platform/temp_dir.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <winscard.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

namespace kiosk::card::test {

namespace {

constexpr const char* kReaderName = "Kiosk Test PCD";
constexpr const char* kSystemIpcDir = "/run/pcscd";
constexpr int kChildSetupFailed = 90;

bool portFree(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const int one = 1;
  // vpcd binds with SO_REUSEADDR, so a port in TIME_WAIT is free for it too.
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  const bool free = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return free;
}

// Runs in the forked child before exec: only async-signal-safe calls.
[[noreturn]] void execPcscd(const char* logFile, const char* ipcDir, bool isolated,
                            const char* config) {
  const int log = ::open(logFile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log >= 0) {
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
  }
  if (isolated) {
    // pcscd 1.9.9 always listens on /run/pcscd/pcscd.comm: give it a /run/pcscd of its own.
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount(ipcDir, kSystemIpcDir, nullptr, MS_BIND, nullptr) != 0) {
      ::_exit(kChildSetupFailed);
    }
  }
  ::execl(KIOSK_PCSCD, "pcscd", "--foreground", "--debug", "--config", config,
          static_cast<char*>(nullptr));
  ::_exit(kChildSetupFailed + 1);
}

bool isolationWorks(const std::filesystem::path& ipc) {
  const pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount(ipc.c_str(), kSystemIpcDir, nullptr, MS_BIND, nullptr) != 0) {
      ::_exit(1);
    }
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::vector<std::string> listReaders() {
  SCARDCONTEXT context = 0;
  if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context) != SCARD_S_SUCCESS) {
    return {};
  }
  std::vector<std::string> names;
  DWORD length = 0;
  if (SCardListReaders(context, nullptr, nullptr, &length) == SCARD_S_SUCCESS) {
    std::string buffer(length, '\0');
    if (SCardListReaders(context, nullptr, buffer.data(), &length) == SCARD_S_SUCCESS) {
      for (std::size_t at = 0; at < length && buffer[at] != '\0';) {
        const std::size_t end = buffer.find('\0', at);
        names.emplace_back(buffer, at, end - at);
        at = end + 1;
      }
    }
  }
  (void)SCardReleaseContext(context);
  return names;
}

}  // namespace

PcscdServer& PcscdServer::instance() {
  static PcscdServer server;
  return server;
}

PcscdServer::PcscdServer() {
  m_dir = platform::makeTempDir("kiosk-pcscd-");
  m_ipc = m_dir / "ipc";
  std::filesystem::create_directories(m_ipc);
  std::error_code ignored;
  std::filesystem::create_directories(kSystemIpcDir, ignored);  // the bind mount's target
  m_isolated = std::getenv("KIOSK_PCSCD_SHARED") == nullptr && isolationWorks(m_ipc);
  if (!m_isolated) {
    // No mount namespace (no CAP_SYS_ADMIN): share the system socket, one process at a time.
    m_ipc = kSystemIpcDir;
    m_lockFd = ::open("/tmp/kiosk-pcscd.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (m_lockFd < 0 || ::flock(m_lockFd, LOCK_EX) != 0) {
      throw std::runtime_error("cannot lock /tmp/kiosk-pcscd.lock");
    }
    SCARDCONTEXT probe = 0;
    if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &probe) == SCARD_S_SUCCESS) {
      (void)SCardReleaseContext(probe);
      throw std::runtime_error("a system pcscd is running and no private one can be started");
    }
  }
  ::setenv("PCSCLITE_CSOCK_NAME", (m_ipc / "pcscd.comm").c_str(), 1);
  choosePorts(static_cast<std::uint16_t>(20000 + (::getpid() % 4000) * 2));
}

PcscdServer::~PcscdServer() {
  stop();
  std::error_code ignored;
  if (std::getenv("KIOSK_KEEP_PCSCD_LOG") == nullptr) std::filesystem::remove_all(m_dir, ignored);
  if (m_lockFd >= 0) ::close(m_lockFd);
}

void PcscdServer::choosePorts(std::uint16_t from) {
  for (std::uint32_t port = from; port + 1 < 30000; port += 2) {
    const auto p = static_cast<std::uint16_t>(port);
    if (portFree(p) && portFree(static_cast<std::uint16_t>(p + 1))) {
      m_port = p;
      return;
    }
  }
  throw std::runtime_error("no free ports for vpcd");
}

void PcscdServer::writeConfig() const {
  std::ofstream out(m_dir / "reader.conf", std::ios::trunc);
  out << "FRIENDLYNAME \"" << kReaderName << "\"\n"
      << "DEVICENAME   /dev/null:" << m_port << "\n"
      << "LIBPATH      " << KIOSK_VPCD_DRIVER << "\n"
      << "CHANNELID    " << m_port << "\n";
  if (!out) throw std::runtime_error("cannot write reader.conf");
}

std::string PcscdServer::reader(int slot) const {
  return std::string(kReaderName) + (slot == 0 ? " 00 00" : " 00 01");
}

VpcdLink::Options PcscdServer::link(int slot) const {
  return VpcdLink::Options{"127.0.0.1", static_cast<std::uint16_t>(m_port + (slot == 0 ? 0 : 1))};
}

bool PcscdServer::readersListed(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid) return false;
    const auto names = listReaders();
    const auto has = [&](const std::string& name) {
      return std::find(names.begin(), names.end(), name) != names.end();
    };
    if (has(reader(0)) && has(reader(1))) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

bool PcscdServer::waitCard(int slot, bool present, std::chrono::milliseconds timeout) const {
  SCARDCONTEXT context = 0;
  if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context) != SCARD_S_SUCCESS) {
    return false;
  }
  const std::string name = reader(slot);
  SCARD_READERSTATE state{};
  state.szReader = name.c_str();
  state.dwCurrentState = SCARD_STATE_UNAWARE;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool reached = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    const LONG rv = SCardGetStatusChange(context, static_cast<DWORD>(left.count()), &state, 1);
    if (rv != SCARD_S_SUCCESS) break;
    if (((state.dwEventState & SCARD_STATE_PRESENT) != 0) == present) {
      reached = true;
      break;
    }
    state.dwCurrentState = state.dwEventState & ~static_cast<DWORD>(SCARD_STATE_CHANGED);
  }
  (void)SCardReleaseContext(context);
  return reached;
}

void PcscdServer::start() {
  if (m_pid > 0) return;
  for (int attempt = 0; attempt < 4; ++attempt) {
    // A killed pcscd leaves its socket and pid file behind.
    std::error_code ignored;
    std::filesystem::remove(m_ipc / "pcscd.comm", ignored);
    std::filesystem::remove(m_ipc / "pcscd.pid", ignored);
    writeConfig();
    const std::string log = logFile().string();
    const std::string ipc = m_ipc.string();
    const std::string config = (m_dir / "reader.conf").string();
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid == 0) {
      // pcscd must not outlive a test process that crashes.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(kChildSetupFailed);
      execPcscd(log.c_str(), ipc.c_str(), m_isolated, config.c_str());
    }
    m_pid = pid;
    if (readersListed(std::chrono::seconds(10))) return;
    // pcscd died, or vpcd could not listen on its ports (taken meanwhile): try other ports.
    stop();
    choosePorts(static_cast<std::uint16_t>(m_port + 2));
  }
  throw std::runtime_error("pcscd did not list the vpcd readers; log:\n" + logTail());
}

void PcscdServer::stop() {
  if (m_pid <= 0) return;
  ::kill(m_pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int status = 0;
  while (::waitpid(m_pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(m_pid, SIGKILL);
      (void)::waitpid(m_pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  m_pid = -1;
}

void PcscdServer::kill() {
  if (m_pid <= 0) return;
  ::kill(m_pid, SIGKILL);
  int status = 0;
  (void)::waitpid(m_pid, &status, 0);
  m_pid = -1;
}

std::string PcscdServer::logTail(std::size_t lines) const {
  std::ifstream in(logFile());
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(line);
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out;
  for (const auto& line : tail) out += line + "\n";
  return out;
}

}  // namespace kiosk::card::test
