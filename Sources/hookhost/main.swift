import Glibc
import HookhostKit
import HookSupport
import HookNet
import HookHTTP
import HookVerify
import HookSpool
import HookFetch
import HookDispatch

tuneMalloc()
exit(CLI.main(Array(CommandLine.arguments.dropFirst())))
