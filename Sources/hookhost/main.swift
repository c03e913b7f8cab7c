import Glibc
import HookhostKit

exit(CLI.main(Array(CommandLine.arguments.dropFirst())))
