#include "card/task_thread.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace kiosk::card {
namespace {

TEST(TaskThreadTest, RunsTasksInOrderAndWaitReturnsWhenAllRan) {
  TaskThread thread;
  std::vector<int> order;  // written by the worker only, read after wait()
  for (int i = 0; i < 50; ++i) {
    thread.submit([&order, i] {
      if (i == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      order.push_back(i);
    });
  }
  thread.wait();
  ASSERT_EQ(order.size(), 50U);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
}

TEST(TaskThreadTest, RunsWhatWasSubmittedBeforeStopping) {
  std::atomic<int> ran{0};
  {
    TaskThread thread;
    for (int i = 0; i < 10; ++i) {
      thread.submit([&ran] {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        ++ran;
      });
    }
  }
  EXPECT_EQ(ran.load(), 10);
}

TEST(TaskThreadTest, WaitWithNothingSubmittedReturns) {
  TaskThread thread;
  thread.wait();
  std::atomic<bool> ran{false};
  thread.submit([&ran] { ran = true; });
  thread.wait();
  EXPECT_TRUE(ran.load());
}

// A background worker yields to the thread that submits (the one sending APDUs): its tasks run
// at a nice value 10 above the submitter's; a normal worker keeps the submitter's.
TEST(TaskThreadTest, ABackgroundWorkerRunsAtALowerPriority) {
  const int mine = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  int background = -100;
  int normal = -100;
  {
    TaskThread thread(TaskThread::Priority::Background);
    thread.submit([&background] { background = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())); });
    thread.wait();
  }
  {
    TaskThread thread;
    thread.submit([&normal] { normal = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())); });
    thread.wait();
  }
  EXPECT_EQ(normal, mine);
  EXPECT_EQ(background, std::min(mine + 10, 19));
}

}  // namespace
}  // namespace kiosk::card
