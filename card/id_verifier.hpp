#pragma once
// Checks a card's ID file against the issuer's public key, and remembers the last ID files
// that passed (a small LRU cache keyed by the SHA-256 of their exact bytes) with the card key
// they certify: a card read again skips the issuer signature check and the key import. The
// card's own signature of a fresh challenge is never cached; CardReader checks it every read.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "platform/bytes.hpp"
#include "card/crypto.hpp"
#include "card/error.hpp"
#include "card/profile.hpp"
#include "platform/result.hpp"

namespace kiosk::card {

// An ID file whose issuer signature verified, and the card public key it certifies.
struct VerifiedId {
  IdFile id;
  std::shared_ptr<const EcKey> cardKey;
};

// Safe to share between threads and between the CardReaders of one kiosk.
class IdVerifier {
 public:
  static constexpr std::size_t kDefaultCapacity = 64;

  // Keeps its own copy of the key; `capacity` ID files at most (at least 1).
  explicit IdVerifier(const EcKey& issuerPublic, std::size_t capacity = kDefaultCapacity);

  // `file` is the ID file as read from the card. BadData when it does not decode,
  // NotAuthentic when the issuer's signature does not verify or the certified card key is not
  // a P-256 point. Only ID files that pass are remembered.
  Result<VerifiedId, CardError> check(ByteView file);

  std::size_t size() const;    // ID files remembered now
  std::uint64_t hits() const;  // checks answered from memory so far

 private:
  struct Entry {
    std::array<std::uint8_t, 32> digest{};
    VerifiedId verified;
    std::uint64_t lastUse = 0;
  };

  const EcKey m_issuer;
  const std::size_t m_capacity;
  mutable std::mutex m_mutex;
  std::vector<Entry> m_entries;
  std::uint64_t m_clock = 0;
  std::uint64_t m_hits = 0;
};

}  // namespace kiosk::card
