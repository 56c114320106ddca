#include "platform/worker_thread.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace kiosk::platform {
namespace {

using namespace std::chrono_literals;

WorkerOptions dropping(std::string name) {
  WorkerOptions options;
  options.atStop = WorkerOptions::AtStop::Drop;
  options.name = std::move(name);
  return options;
}

TEST(WorkerThreadTest, RunsTasksInOrderAndWaitReturnsWhenAllRan) {
  WorkerThread thread;
  std::vector<int> order;  // written by the worker only, read after wait()
  for (int i = 0; i < 50; ++i) {
    thread.post([&order, i] {
      if (i == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      order.push_back(i);
    });
  }
  thread.wait();
  ASSERT_EQ(order.size(), 50U);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
}

// The card reader's checks thread: what was submitted before it stops still runs.
TEST(WorkerThreadTest, RunsWhatWasSubmittedBeforeStopping) {
  std::atomic<int> ran{0};
  {
    WorkerThread thread;
    for (int i = 0; i < 10; ++i) {
      thread.post([&ran] {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        ++ran;
      });
    }
  }
  EXPECT_EQ(ran.load(), 10);
}

TEST(WorkerThreadTest, WaitWithNothingSubmittedReturns) {
  WorkerThread thread;
  thread.wait();
  std::atomic<bool> ran{false};
  thread.post([&ran] { ran = true; });
  thread.wait();
  EXPECT_TRUE(ran.load());
}

// A background worker yields to the thread that submits (the one sending APDUs): its tasks run
// at a nice value 10 above the submitter's; a normal worker keeps the submitter's.
TEST(WorkerThreadTest, ABackgroundWorkerRunsAtALowerPriority) {
  const int mine = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  int background = -100;
  int normal = -100;
  {
    WorkerOptions options;
    options.niceness = 10;
    WorkerThread thread(options);
    thread.post(
        [&background] { background = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())); });
    thread.wait();
  }
  {
    WorkerThread thread;
    thread.post([&normal] { normal = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())); });
    thread.wait();
  }
  EXPECT_EQ(normal, mine);
  EXPECT_EQ(background, std::min(mine + 10, 19));
}

// The engine's workers: a stop ends the running job's turn and drops what waits behind it (the
// journal keeps what those jobs were for).
TEST(WorkerThreadTest, ADroppingWorkerRunsNoQueuedJobAfterStop) {
  std::atomic<bool> release{false};
  std::atomic<bool> started{false};
  std::atomic<int> ran{0};
  WorkerThread thread(dropping("drop"));
  thread.post([&] {
    started = true;
    while (!release) std::this_thread::sleep_for(1ms);
    ++ran;
  });
  for (int i = 0; i < 5; ++i) thread.post([&ran] { ++ran; });
  while (!started) std::this_thread::sleep_for(1ms);
  std::atomic<bool> stopping{false};
  std::thread stopper([&] {
    stopping = true;
    thread.stop();
  });
  while (!stopping) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(50ms);  // stop() clears the queue at once, then waits to join
  release = true;
  stopper.join();
  EXPECT_EQ(ran.load(), 1);  // the running job finished; the five queued ones never ran
  thread.post([&ran] { ++ran; });  // ignored after stop
  thread.wait();
  EXPECT_TRUE(thread.idle());
  EXPECT_EQ(ran.load(), 1);
}

TEST(WorkerThreadTest, WaitIdleTimesOutWhileAJobRuns) {
  std::atomic<bool> release{false};
  WorkerThread thread(dropping("busy"));
  thread.post([&release] {
    while (!release) std::this_thread::sleep_for(1ms);
  });
  EXPECT_FALSE(thread.waitIdle(30ms));
  EXPECT_FALSE(thread.idle());
  release = true;
  EXPECT_TRUE(thread.waitIdle(5s));
  EXPECT_TRUE(thread.idle());
}

TEST(WorkerThreadTest, AJobThatThrowsDoesNotStopTheWorker) {
  WorkerThread thread(dropping("throws"));
  std::atomic<bool> ran{false};
  thread.post([] { throw std::runtime_error("a programming error"); });
  thread.post([&ran] { ran = true; });
  thread.wait();
  EXPECT_TRUE(ran.load());
}

// top and gdb show which worker is which.
TEST(WorkerThreadTest, TheThreadCarriesItsName) {
  WorkerThread thread(dropping("a-very-long-worker-name"));
  std::string name;
  thread.post([&name] {
    char buffer[16] = {};
    if (::pthread_getname_np(::pthread_self(), buffer, sizeof buffer) == 0) name = buffer;
  });
  thread.wait();
  EXPECT_EQ(name, "a-very-long-wor");
}

}  // namespace
}  // namespace kiosk::platform
