/// Where the operator console is served (`HOOKHOST_CONSOLE`).
public enum ConsoleMode: String, Sendable, CaseIterable {
    /// On the admin listener (`HOOKHOST_ADMIN_LISTEN`); off without one.
    case admin
    /// On the main listener, next to the deliveries (and not on the admin listener).
    case main
    case off

    /// The shortest token an operator may set: a guessable one would make every action a guess away.
    public static let minTokenLength = 16
}
