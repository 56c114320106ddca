#include "kiosk/sim/sim_runner.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace kiosk::sim {

SimRunner::SimRunner(Simulation& simulation, OpenUrl openUrl, std::function<void()> changed)
    : m_simulation(simulation), m_openUrl(std::move(openUrl)), m_changed(std::move(changed)) {
  for (const auto& card : simulation.cards()) m_cards.push_back(card.key);
  m_inserted = simulation.inserted();
  m_networkUp = simulation.networkUp();
  m_minutesAhead = simulation.timeOffset().count() / 60;
}

SimRunner::~SimRunner() { stop(); }

void SimRunner::stop() { m_worker.stop(); }

std::uint64_t SimRunner::post(SimIntent intent) {
  std::uint64_t ticket = 0;
  {
    std::lock_guard lock(m_mutex);
    ticket = ++m_posted;
  }
  m_worker.post([this, intent = std::move(intent)] { run(intent); });
  return ticket;
}

SimPanelView SimRunner::view(bool paying) const {
  std::lock_guard lock(m_mutex);
  SimPanelView view;
  view.cards = m_cards;
  view.inserted = m_inserted;
  view.paying = paying;
  view.networkUp = m_networkUp;
  view.minutesAhead = m_minutesAhead;
  view.status = m_status;
  return view;
}

std::uint64_t SimRunner::done() const {
  std::lock_guard lock(m_mutex);
  return m_done;
}

std::string SimRunner::lastProblem() const {
  std::lock_guard lock(m_mutex);
  return m_problem;
}

void SimRunner::run(const SimIntent& intent) {
  using Kind = SimIntent::Kind;
  // Each of these may wait: vpcd taking the card, the pay page's HTTP round trip, a browser
  // starting, the meter writing the card file.
  std::string problem;
  std::string status;
  switch (intent.kind) {
    case Kind::None:
    case Kind::TogglePanel: break;
    case Kind::Insert:
      problem = m_simulation.insert(intent.key);
      status = problem.empty() ? "inserted the " + intent.key + " card" : problem;
      break;
    case Kind::Pull:
      m_simulation.pull();
      status = "card pulled";
      break;
    case Kind::Pay:
    case Kind::Decline: {
      const bool pay = intent.kind == Kind::Pay;
      problem = m_simulation.answer(intent.payUrl, pay);
      status = problem.empty() ? (pay ? "paid " : "declined ") + intent.orderId : problem;
      break;
    }
    case Kind::OpenPayPage: {
      std::string error;
      status = m_openUrl && m_openUrl(intent.payUrl, &error) ? "opened " + intent.payUrl
                                                             : "no browser: " + error;
      break;
    }
    case Kind::SetNetwork:
      m_simulation.setNetworkUp(intent.up);
      status = intent.up ? "network restored" : "network cut";
      break;
    case Kind::Advance: m_simulation.advance(intent.by); break;
    case Kind::UseMeter: {
      auto report = m_simulation.useInMeter(intent.key, 1);
      if (report) {
        status = fmt::format("{} meter: {} token(s) loaded, {} left{}", intent.key, report->tokensLoaded,
                             app::formatMoney(report->remainingMinor), report->cutOff ? ", supply cut" : "");
        spdlog::info("simulation: the {} meter loaded {} token(s)", intent.key, report->tokensLoaded);
      } else {
        problem = report.error();
        status = problem;
      }
      break;
    }
  }
  {
    std::lock_guard lock(m_mutex);
    m_inserted = m_simulation.inserted();
    m_networkUp = m_simulation.networkUp();
    m_minutesAhead = m_simulation.timeOffset().count() / 60;
    if (!status.empty()) m_status = status;
    m_problem = problem;
    ++m_done;
  }
  if (m_changed) m_changed();
}

}  // namespace kiosk::sim
