#include "card/task_thread.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace kiosk::card
