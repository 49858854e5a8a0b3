// loupe: the Loupe command-line client.
#include "client/cli.h"

int main(int argc, char** argv) { return loupe::client::RunCli(argc, argv); }
