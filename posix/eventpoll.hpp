// fs/eventpoll.c: an epoll instance is a file holding items (epitem), each a watched file and
// the events asked for. Level-triggered items report while their file is ready;
// edge-triggered ones only after a new wakeup of a class they asked for (ep_poll_callback's
// key); EPOLLONESHOT disarms an item once reported until EPOLL_CTL_MOD re-arms it.
//
// EPOLLEXCLUSIVE: Linux wakes one blocked epoll_wait among the instances watching a file with
// it, yet every instance's ready list gets the item. vlo's waiters all look at their own lists
// when woken, so delivery matches Linux's and only the number of threads woken differs.
#pragma once

#include <sys/epoll.h>

#include <list>
#include <memory>
#include <mutex>

#include "posix/file.hpp"

namespace vlo::posix {

class EventPoll final : public File {
  public:
    explicit EventPoll(Net& net) : File(net) {}
    EventPoll* epoll() override { return this; }
    // ep_eventpoll_poll: readable when some item would be reported.
    unsigned poll() override;

    long ctl(int op, int fd, const std::shared_ptr<File>& file, const epoll_event* ev);
    // ep_send_events: up to `max` ready items into `out`; the number reported.
    int send_events(epoll_event* out, int max);
    // Whether `target` is this instance or holds it, directly or through nested instances
    // (ep_loop_check).
    bool reaches(const EventPoll* target);

  private:
    struct Item {
        int fd;
        std::weak_ptr<File> file;
        epoll_event event;
        bool armed_edge = true;  // an ET item reports the state it was added in once
        std::uint64_t seen = 0;  // the wake generation last consumed (ET)
    };
    // Whether `it` reports now, and with which bits; ET items consume their wakeup.
    unsigned check(Item& it, bool consume);

    std::mutex mu_;
    std::list<Item> items_;  // the ready scan's order: reported LT items go to the back
};

}  // namespace vlo::posix
