// Tests only: starts real backing services for shell tests and keeps them
// until SIGTERM/SIGINT (then stops them and removes their directories).
//   loupe_test_services [--swift] [--postgres] --env FILE
// writes FILE (shell assignments) once everything answers:
//   LOUPE_TEST_S3_ENDPOINT, LOUPE_TEST_S3_BUCKET (created),
//   LOUPE_TEST_S3_KEY_ID, LOUPE_TEST_S3_SECRET  (with --swift)
//   LOUPE_TEST_PG_URL                           (with --postgres)
// Exit 1 if a service cannot start, 2 on usage errors.

#include <signal.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "server/storage/postgres/test_cluster_for_tests.h"
#include "server/storage/s3/test_swift_for_tests.h"

int main(int argc, char** argv) {
  bool swift = false, postgres = false;
  std::string env;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--swift") {
      swift = true;
    } else if (a == "--postgres") {
      postgres = true;
    } else if (a == "--env" && i + 1 < argc) {
      env = argv[++i];
    } else {
      std::cerr << "usage: loupe_test_services [--swift] [--postgres] --env "
                   "FILE\n";
      return 2;
    }
  }
  if (env.empty()) return 2;
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // Before any thread starts.

  std::string lines;
  std::unique_ptr<loupe::storage::s3::testing::TestSwift> s3;
  std::unique_ptr<loupe::storage::s3::S3Client> bucket;
  if (swift) {
    auto started = loupe::storage::s3::testing::TestSwift::Start();
    if (!started.ok()) {
      std::cerr << started.status() << "\n";
      return 1;
    }
    s3 = *std::move(started);
    auto client = s3->NewBucket("e2e");
    if (!client.ok()) {
      std::cerr << client.status() << "\n";
      return 1;
    }
    bucket = *std::move(client);
    const auto& o = bucket->options();
    lines += "LOUPE_TEST_S3_ENDPOINT=" + o.endpoint + "\n" +
             "LOUPE_TEST_S3_BUCKET=" + o.bucket + "\n" +
             "LOUPE_TEST_S3_KEY_ID=" + o.access_key_id + "\n" +
             "LOUPE_TEST_S3_SECRET=" + o.secret_access_key + "\n";
    std::cerr << "Swift started in " << s3->start_seconds() << " s\n";
  }
  std::unique_ptr<loupe::storage::testing::PostgresTestCluster> pg;
  if (postgres) {
    auto started = loupe::storage::testing::PostgresTestCluster::Start();
    if (!started.ok()) {
      std::cerr << started.status() << "\n";
      return 1;
    }
    pg = *std::move(started);
    auto url = pg->CreateDatabase("loupe_e2e");
    if (!url.ok()) {
      std::cerr << url.status() << "\n";
      return 1;
    }
    lines += "LOUPE_TEST_PG_URL='" + *url + "'\n";
  }
  {
    std::ofstream out(env + ".tmp");
    out << lines;
  }
  std::rename((env + ".tmp").c_str(), env.c_str());
  int sig = 0;
  sigwait(&stop, &sig);
  return 0;  // Destructors stop the services.
}
