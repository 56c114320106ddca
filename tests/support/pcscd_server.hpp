#pragma once
// A real pcscd with the vpcd driver, private to one test process: its own IPC directory (a
// mount namespace shows it to pcscd as /run/pcscd; clients find it through
// PCSCLITE_CSOCK_NAME), its own reader.conf and its own vpcd ports, so tests run in parallel.
// It can be stopped, killed and started again under running clients.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "card/vpcd/vpcd_link.hpp"

namespace kiosk::card::test {

class PcscdServer {
 public:
  // One per process: libpcsclite reads PCSCLITE_CSOCK_NAME once, at its first call.
  static PcscdServer& instance();

  // Starts pcscd and waits until both vpcd readers are listed. Throws std::runtime_error.
  void start();
  // SIGTERM, then SIGKILL if pcscd does not exit within a few seconds.
  void stop();
  // SIGKILL: pcscd dies without cleaning up, as in a crash.
  void kill();
  bool running() const { return m_pid > 0; }

  // vpcd's two slots: reader names and where a card connects.
  std::string reader(int slot) const;
  VpcdLink::Options link(int slot) const;
  // Waits until pcscd reports a card present (or the slot empty) in the slot's reader.
  bool waitCard(int slot, bool present, std::chrono::milliseconds timeout) const;
  // Whether pcscd runs in a private mount namespace; else (no CAP_SYS_ADMIN, or
  // KIOSK_PCSCD_SHARED set) it uses the system socket, one test process at a time.
  bool isolated() const { return m_isolated; }
  std::filesystem::path logFile() const { return m_dir / "pcscd.log"; }
  // The last lines of pcscd's log, for failure messages.
  std::string logTail(std::size_t lines = 40) const;

  PcscdServer(const PcscdServer&) = delete;
  PcscdServer& operator=(const PcscdServer&) = delete;

 private:
  PcscdServer();
  ~PcscdServer();
  void writeConfig() const;
  bool readersListed(std::chrono::milliseconds timeout) const;
  void choosePorts(std::uint16_t after);

  std::filesystem::path m_dir;
  std::filesystem::path m_ipc;
  bool m_isolated = false;
  int m_lockFd = -1;
  std::uint16_t m_port = 0;  // vpcd slots m_port and m_port + 1
  pid_t m_pid = -1;
};

}  // namespace kiosk::card::test
