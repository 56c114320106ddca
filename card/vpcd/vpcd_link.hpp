#pragma once
// Puts a CardEmulator into vpcd's virtual reader: the card is a TCP client of vpcd (inside
// pcscd), so applications reach it through real pcscd and libpcsclite. Insert = connect,
// pull = close. It can pull the card at a chosen APDU to tear an exchange on purpose.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "card/channel.hpp"

namespace kiosk::card {

class VpcdLink {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 35963;  // vpcd's first slot with Debian's /etc/reader.conf.d/vpcd
  };
  // Where a planned tear happens relative to the APDU it is armed on.
  enum class TearPoint {
    BeforeProcess,  // the card never sees the APDU
    AfterProcess,   // the card executed it (a write is committed) but the answer is lost
  };

  // The emulator must outlive the link; it is used only from the link's thread while inserted.
  VpcdLink(CardEmulator& card, Options options);
  ~VpcdLink();  // pulls
  VpcdLink(const VpcdLink&) = delete;
  VpcdLink& operator=(const VpcdLink&) = delete;

  // Puts the card in the reader: a thread connects to vpcd (retrying while vpcd is not yet
  // listening, and again if pcscd restarts under it) and serves the card until pulled.
  void insert();
  // Takes the card out: closes the connection, powers the card off, joins the thread.
  void pull();
  bool inserted() const;
  // Connected to vpcd right now (inserted and pcscd listening).
  bool connected() const;
  // Waits until connected; false on timeout.
  bool waitConnected(std::chrono::milliseconds timeout) const;

  // APDUs (not control messages) received since the last insert().
  std::uint64_t apdus() const;
  // Time the emulator spent answering APDUs since the last insert(): what a benchmark takes
  // away from a round trip to see the transport alone.
  std::chrono::nanoseconds cardTime() const;
  // Pulls the card when the APDU with index `apdu` (counted as apdus() counts) arrives.
  void tearAt(std::uint64_t apdu, TearPoint point);
  // Whether a tear has happened since insert() or tearAt(): a planned one, or the emulator
  // answering an APDU with nothing (the virtual card's own tear hook). The card is then out.
  bool torn() const;
  // Waits until a planned tear has happened; false on timeout.
  bool waitTorn(std::chrono::milliseconds timeout) const;

 private:
  void run();
  // Serves one connection until it ends; true when the card was torn or pulled.
  bool serve(int fd);
  int connectOnce() const;

  CardEmulator& m_card;
  Options m_options;
  mutable std::mutex m_mutex;
  mutable std::condition_variable m_changed;
  std::thread m_thread;
  bool m_inserted = false;
  bool m_connected = false;
  bool m_torn = false;
  int m_fd = -1;
  std::uint64_t m_apdus = 0;
  std::chrono::nanoseconds m_cardTime{0};
  std::optional<std::pair<std::uint64_t, TearPoint>> m_tear;
};

}  // namespace kiosk::card
