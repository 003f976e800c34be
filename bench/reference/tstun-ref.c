/*
 * tstun-ref: the smallest T-STUN rendezvous server we could write in C, for comparisons.
 *
 * It does exactly the work tstun does on the happy path and nothing else: accept, read 32 key
 * bytes (in as many segments as they come), pair the two clients with the same key, send each
 * the other's observed "ADDR PORT" (waiter first), then close (which sends the FIN). One thread,
 * one epoll set, a chained hash table, no timeouts, no limits, no liveness check. A waiting
 * client that resets is dropped (epoll still reports HUP/ERR for a socket registered with no
 * events). What tstun costs beyond this is the price of its robustness; see docs/PERFORMANCE.md.
 *
 * Build: gcc -O2 -o tstun-ref bench/reference/tstun-ref.c
 * Usage: tstun-ref [-p PORT]     (listens on [::], IPv6 and IPv4; default port 3477)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum { KEY_BYTES = 32, REPLY_MAX = 52, BUCKET_BITS = 16, MAX_EVENTS = 256 };

struct client {
    int fd;
    int have;                     /* key bytes read so far */
    int waiting;                  /* in the table */
    uint8_t key[KEY_BYTES];
    char reply[REPLY_MAX + 8];    /* this client's own address, as its partner is told */
    int reply_len;
    struct client *chain;         /* next in its bucket, or in the free list */
};

static struct client *buckets[1u << BUCKET_BITS];
static struct client *free_clients;
/* Closed during the current batch of events: a later event of the same batch may still name
 * them, so they are recycled only once the batch is done. */
static struct client *closed_clients;
static int epfd;

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* FNV-1a over the whole key: keys are SHA-256 digests, so any fair mix spreads them. */
static unsigned bucket_of(const uint8_t *key)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < KEY_BYTES; i++) {
        h ^= key[i];
        h *= 16777619u;
    }
    return h >> (32 - BUCKET_BITS);
}

static struct client *new_client(int fd)
{
    struct client *c = free_clients;
    if (c != NULL)
        free_clients = c->chain;
    else if ((c = malloc(sizeof *c)) == NULL)
        die("malloc");
    memset(c, 0, sizeof *c);
    c->fd = fd;
    return c;
}

static void drop(struct client *c)
{
    close(c->fd);
    c->fd = -1;
    c->chain = closed_clients;
    closed_clients = c;
}

/* Removes c from its bucket if it waits there. */
static void unlink_waiter(struct client *c)
{
    if (!c->waiting)
        return;
    struct client **link = &buckets[bucket_of(c->key)];
    while (*link != c)
        link = &(*link)->chain;
    *link = c->chain;
    c->waiting = 0;
}

/* The waiter with the same key, taken out of the table; or NULL after putting c in to wait. */
static struct client *pair_or_wait(struct client *c)
{
    struct client **link = &buckets[bucket_of(c->key)];
    for (struct client *w = *link; w != NULL; link = &w->chain, w = w->chain) {
        if (memcmp(w->key, c->key, KEY_BYTES) == 0) {
            *link = w->chain;
            w->waiting = 0;
            return w;
        }
    }
    c->chain = buckets[bucket_of(c->key)];
    buckets[bucket_of(c->key)] = c;
    c->waiting = 1;
    return NULL;
}

static void describe_peer(struct client *c, const struct sockaddr_in6 *peer)
{
    char text[INET6_ADDRSTRLEN];
    if (IN6_IS_ADDR_V4MAPPED(&peer->sin6_addr))
        inet_ntop(AF_INET, &peer->sin6_addr.s6_addr[12], text, sizeof text);
    else
        inet_ntop(AF_INET6, &peer->sin6_addr, text, sizeof text);
    c->reply_len = snprintf(c->reply, sizeof c->reply, "%s %u", text, (unsigned)ntohs(peer->sin6_port));
}

static void accept_all(int listener)
{
    for (;;) {
        struct sockaddr_in6 peer;
        socklen_t length = sizeof peer;
        int fd = accept4(listener, (struct sockaddr *)&peer, &length, SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return; /* EAGAIN, or out of descriptors: the next readiness tries again */
        }
        struct client *c = new_client(fd);
        describe_peer(c, &peer);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
            drop(c);
    }
}

static void on_readable(struct client *c)
{
    ssize_t n = recv(c->fd, c->key + c->have, KEY_BYTES - c->have, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        drop(c); /* EOF or an error before the whole key: no reply */
        return;
    }
    c->have += (int)n;
    if (c->have < KEY_BYTES)
        return;

    shutdown(c->fd, SHUT_RD);
    struct client *waiter = pair_or_wait(c);
    if (waiter == NULL) {
        /* No events asked for: epoll still says when the waiter's connection is reset. */
        struct epoll_event ev = { .events = 0, .data.ptr = c };
        epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
        return;
    }
    send(waiter->fd, c->reply, c->reply_len, MSG_NOSIGNAL);
    send(c->fd, waiter->reply, waiter->reply_len, MSG_NOSIGNAL);
    drop(waiter);
    drop(c);
}

int main(int argc, char **argv)
{
    int port = 3477, option;
    while ((option = getopt(argc, argv, "p:")) != -1) {
        if (option != 'p') {
            fprintf(stderr, "usage: tstun-ref [-p PORT]\n");
            return 2;
        }
        port = atoi(optarg);
    }

    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }

    int listener = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (listener < 0)
        die("socket");
    int yes = 1, no = 0;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    setsockopt(listener, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof no);
    /* Accepted sockets inherit it: replies leave at once. */
    setsockopt(listener, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    struct sockaddr_in6 any = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port), .sin6_addr = IN6ADDR_ANY_INIT };
    if (bind(listener, (struct sockaddr *)&any, sizeof any) < 0)
        die("bind");
    if (listen(listener, 4096) < 0)
        die("listen");

    if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        die("epoll_create1");
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev) < 0)
        die("epoll_ctl");

    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct client *c = events[i].data.ptr;
            if (c == NULL)
                accept_all(listener);
            else if (c->fd < 0)
                continue; /* closed earlier in this batch */
            else if (c->waiting) {
                unlink_waiter(c); /* HUP/ERR on a waiter: it reset */
                drop(c);
            } else
                on_readable(c);
        }
        while (closed_clients != NULL) {
            struct client *c = closed_clients;
            closed_clients = c->chain;
            c->chain = free_clients;
            free_clients = c;
        }
    }
}
