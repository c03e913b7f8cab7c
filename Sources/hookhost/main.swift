import Glibc
import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

// First: a closed stderr must not be given to the spool log or the data lock.
StandardDescriptors.fillClosed()
tuneMalloc()
let code = CLI.main(Array(CommandLine.arguments.dropFirst()))
LogSink.shared(fd: 2).flush()  // log lines are written by a thread of their own
exit(code)
