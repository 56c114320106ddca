#include "card/id_verifier.hpp"

#include <algorithm>

namespace kiosk::card {

IdVerifier::IdVerifier(const EcKey& issuerPublic, std::size_t capacity)
    : m_issuer(issuerPublic.duplicate()), m_capacity(std::max<std::size_t>(capacity, 1)) {
  m_entries.reserve(m_capacity);
}

Result<VerifiedId, CardError> IdVerifier::check(ByteView file) {
  // The issuer's signature covers everything in the file but itself, and the signature is in
  // the file too: the same bytes always verify the same way, so a digest of the bytes stands
  // for the whole check.
  const auto digest = sha256(file);
  {
    std::lock_guard lock(m_mutex);
    const auto found = std::find_if(m_entries.begin(), m_entries.end(),
                                    [&](const Entry& entry) { return entry.digest == digest; });
    if (found != m_entries.end()) {
      found->lastUse = ++m_clock;
      ++m_hits;
      return found->verified;
    }
  }

  // Verified outside the lock: two readers checking two cards do not wait for each other.
  auto id = decodeIdFile(file);
  if (!id) return fail(CardError::BadData);
  if (!verifyIdFile(*id, m_issuer)) return fail(CardError::NotAuthentic);
  auto cardKey = EcKey::fromPublicPoint(id->cardPublicKey);
  if (!cardKey) return fail(CardError::NotAuthentic);
  VerifiedId verified{std::move(*id), std::make_shared<const EcKey>(std::move(*cardKey))};

  std::lock_guard lock(m_mutex);
  const auto present = std::find_if(m_entries.begin(), m_entries.end(),
                                    [&](const Entry& entry) { return entry.digest == digest; });
  if (present != m_entries.end()) {
    present->lastUse = ++m_clock;  // another reader got here first
  } else if (m_entries.size() < m_capacity) {
    m_entries.push_back(Entry{digest, verified, ++m_clock});
  } else {
    auto oldest =
        std::min_element(m_entries.begin(), m_entries.end(),
                         [](const Entry& a, const Entry& b) { return a.lastUse < b.lastUse; });
    *oldest = Entry{digest, verified, ++m_clock};
  }
  return verified;
}

std::size_t IdVerifier::size() const {
  std::lock_guard lock(m_mutex);
  return m_entries.size();
}

std::uint64_t IdVerifier::hits() const {
  std::lock_guard lock(m_mutex);
  return m_hits;
}

}  // namespace kiosk::card
