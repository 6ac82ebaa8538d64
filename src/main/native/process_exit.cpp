// vlmr1::exit_process: _exit after flushing stdio (see vlmr1_kernels.h for why a worker ends this way).
#include <cstdio>

#include <unistd.h>

#include "vlmr1_kernels.h"

namespace vlmr1 {

void exit_process(int code) {
  std::fflush(nullptr);
  _exit(code);
}

}  // namespace vlmr1
