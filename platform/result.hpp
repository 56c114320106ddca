#pragma once
// Result<T, E>: a value or an error, for expected failures (card removed, bad status word,
// network timeout...). The project is C++20, so this is a small subset of C++23's
// std::expected with the same member names, to be swapped for it when the standard moves.

#include <cassert>
#include <utility>
#include <variant>

namespace kiosk {

template <class E>
struct Unexpected {
  E error;
};

// fail(CardError::Removed) converts to any Result<T, CardError>.
template <class E>
Unexpected<E> fail(E error) {
  return Unexpected<E>{std::move(error)};
}

template <class T, class E>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_state(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  Result(Unexpected<E> error)                                             // NOLINT: implicit
      : m_state(std::in_place_index<1>, std::move(error.error)) {}

  bool has_value() const { return m_state.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(m_state);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(m_state);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(m_state));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const E& error() const {
    assert(!has_value());
    return std::get<1>(m_state);
  }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, E> m_state;
};

// Result<void, E>: success carries nothing.
template <class E>
class [[nodiscard]] Result<void, E> {
 public:
  Result() = default;
  Result(Unexpected<E> error) : m_error(std::move(error.error)), m_failed(true) {}  // NOLINT

  bool has_value() const { return !m_failed; }
  explicit operator bool() const { return has_value(); }
  const E& error() const {
    assert(m_failed);
    return m_error;
  }

 private:
  E m_error{};
  bool m_failed = false;
};

}  // namespace kiosk
