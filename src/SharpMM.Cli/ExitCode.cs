namespace SharpMM.Cli;

/// <summary>The exit statuses of every `sharpmm` command (docs/cli.md).</summary>
internal static class ExitCode
{
    /// <summary>The command did what was asked (for check commands: every check passed).</summary>
    public const int Done = 0;
    /// <summary>The thing run failed: a check, a boot, a workload's verification, the kernel's
    /// tests, or an unexpected error inside the tool.</summary>
    public const int Failed = 1;
    /// <summary>Bad usage or input: an unknown command or option, a value out of range, a file
    /// that cannot be read or is not what the command expects.</summary>
    public const int BadInput = 2;
}
