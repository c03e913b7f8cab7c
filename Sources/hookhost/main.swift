import Glibc
import HookhostKit

tuneMalloc()
exit(CLI.main(Array(CommandLine.arguments.dropFirst())))
