// Finds the socket of an HTTP connection in this process and tells whether its client has gone.
// cpp-httplib 0.11 (Debian 12) gives a handler no access to its socket, only the connection's
// local and remote address and port; those identify the socket among /proc/self/fd.
// Used to abort a non-streaming request whose client disconnected. Tests: tests/server/server_http_test.cc
#pragma once

#include <string>

namespace swaa::server {

// The fd whose local and peer address/port match, or -1.
int find_connection_fd(const std::string& local_addr, int local_port, const std::string& remote_addr, int remote_port);

// True when the peer closed the connection (a zero-byte read is pending). Never blocks or consumes
// data. A client that half-closes its side while waiting for the answer also reads as closed.
bool peer_closed(int fd);

}  // namespace swaa::server
