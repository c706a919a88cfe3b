using System;
using System.Diagnostics;
using System.IO;

namespace SharpMM.Cli;

/// <summary>`sharpmm qemu`: build the kernel if needed and boot it (kernel/qemu.sh does the work).</summary>
internal static class QemuCommand
{
    public static int Run(string[] args)
    {
        string root = RepoRoot();
        string script = Path.Combine(root, "kernel", "qemu.sh");
        if (!File.Exists(script)) return Program.Fail($"{script} not found");
        var psi = new ProcessStartInfo("bash") { UseShellExecute = false };
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new IOException("could not start bash");
        p.WaitForExit();
        return p.ExitCode;
    }

    internal static string RepoRoot()
    {
        string? env = Environment.GetEnvironmentVariable("SHARPMM_ROOT");
        if (!string.IsNullOrEmpty(env)) return env;
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "SharpMM.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new IOException("cannot find the repository root (SharpMM.slnx)");
    }
}
