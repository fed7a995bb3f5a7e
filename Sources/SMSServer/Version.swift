/// The version of this build, reported by `/health` and `--version`.
public enum SMSDeskVersion {
    public static let current = "0.1.0"
}
