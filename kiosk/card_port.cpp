#include "kiosk/card_port.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "card/pcsc/reader_wait.hpp"

namespace kiosk::app {

bool waitReader(const std::string& reader, bool present, std::chrono::milliseconds timeout) {
  return static_cast<bool>(card::waitForCard(
      reader, present ? card::Presence::Present : card::Presence::Empty, timeout));
}

ReaderWatch::ReaderWatch(std::string reader, ReaderCardPort& port, payments::Engine& engine,
                         EventQueue& queue)
    : m_reader(std::move(reader)),
      m_fixed(!m_reader.empty()),
      m_port(port),
      m_engine(engine),
      m_queue(queue),
      m_monitor([this](const card::ReaderEvent& event) { onEvent(event); }) {}

ReaderWatch::~ReaderWatch() { stop(); }

void ReaderWatch::start() { m_monitor.start(); }

void ReaderWatch::stop() { m_monitor.stop(); }

std::string ReaderWatch::reader() const {
  std::lock_guard lock(m_mutex);
  return m_reader;
}

void ReaderWatch::onEvent(const card::ReaderEvent& event) {
  std::unique_lock lock(m_mutex);
  if (const auto* added = std::get_if<card::ReaderAdded>(&event)) {
    if (!m_fixed && m_reader.empty()) m_reader = added->reader;
    if (added->reader == m_reader) {
      lock.unlock();
      m_queue.push(event::ServiceRestored{});
    }
    return;
  }
  if (const auto* removed = std::get_if<card::ReaderRemoved>(&event)) {
    if (removed->reader != m_reader) return;
    const bool hadCard = m_present;
    m_present = false;
    lock.unlock();
    if (hadCard) {
      m_port.cardRemoved();
      m_engine.cardRemoved();
      m_queue.push(event::CardRemoved{});
    }
    m_queue.push(event::ServiceFault{"oos.reader"});
    return;
  }
  if (const auto* inserted = std::get_if<card::CardInserted>(&event)) {
    if (inserted->reader != m_reader || m_present) return;
    m_present = true;
    lock.unlock();
    m_port.cardInserted();
    m_engine.cardInserted();
    m_queue.push(event::CardInserted{});
    return;
  }
  if (const auto* removed = std::get_if<card::CardRemoved>(&event)) {
    if (removed->reader != m_reader || !m_present) return;
    m_present = false;
    lock.unlock();
    m_port.cardRemoved();
    m_engine.cardRemoved();
    m_queue.push(event::CardRemoved{});
    return;
  }
  if (std::holds_alternative<card::ServiceLost>(event)) {
    const bool hadCard = m_present;
    m_present = false;
    lock.unlock();
    if (hadCard) {
      m_port.cardRemoved();
      m_engine.cardRemoved();
      m_queue.push(event::CardRemoved{});
    }
    m_queue.push(event::ServiceFault{"oos.reader"});
    return;
  }
  // card::ServiceRestored: pcscd is back, but only the reader's return (ReaderAdded) puts the
  // kiosk back in service.
}

}  // namespace kiosk::app
