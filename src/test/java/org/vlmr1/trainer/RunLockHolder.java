// A child process for RunLockTest: locks the folder given as its argument, says so, and waits to be killed.
package org.vlmr1.trainer;

import java.nio.file.Path;

final class RunLockHolder {
  private RunLockHolder() {}

  public static void main(String[] args) throws Exception {
    RunLock lock = RunLock.acquire(Path.of(args[0]));
    System.out.println("locked " + ProcessHandle.current().pid());
    System.out.flush();
    Thread.sleep(600_000);
    lock.close();
  }
}
