#pragma once

namespace loupe::client {

// Runs the `loupe` command line. Returns the process exit code:
// 0 success, 1 the operation failed (the server refused it, a file did not
// verify), 2 usage error (bad flags or arguments, unreadable input).
[[nodiscard]] int RunCli(int argc, char** argv);

}  // namespace loupe::client
