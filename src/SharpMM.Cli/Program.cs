using System;
using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.IO;
using System.Linq;
using SharpMM.Hosted;
using SharpMM.Hosted.User;

namespace SharpMM.Cli;

/// <summary>
/// The `sharpmm` command. Every outcome is an exit status (<see cref="ExitCode"/>): 0 done,
/// 1 the thing run failed, 2 bad usage or input. An error is one line on stderr starting with
/// "sharpmm: "; nothing unexpected reaches the user as a stack trace.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        HostedPanic.Install();
        try
        {
            return Run(args);
        }
        catch (Exception e)
        {
            return Report(e);
        }
    }

    /// <summary>The command tree; the help of each command and option is written here and in
    /// the command's file.</summary>
    internal static RootCommand Commands()
    {
        var root = new RootCommand(
            "SharpMM: a kernel memory manager in C#, run hosted on simulated memory or booted as a kernel under QEMU.\n" +
            "Exit status: 0 done, 1 the thing run failed, 2 bad usage or input. docs/cli.md has the details.")
        {
            BootCommand.Create(),
            PagingCommands.PageTable(),
            PagingCommands.Translate(),
            BenchCommand.Create(),
            WorkloadCommand.Create(),
            ReportCommand.Create(),
            TraceCommand.Create(),
            QemuCommand.Create(),
            CheckKernelLogCommand.Create(),
        };
        root.HelpName = "sharpmm";
        var helpOption = root.Options.OfType<HelpOption>().Single();
        var help = (HelpAction)helpOption.Action!;
        // Wrapped to the terminal, or to 100 columns when the help goes to a file or pipe.
        help.MaxWidth = Console.IsOutputRedirected ? 100 : Math.Clamp(Console.WindowWidth, 60, 140);
        helpOption.Action = new SynopsisHelpAction(help);
        return root;
    }

    private static int Run(string[] args)
    {
        // `sharpmm help [COMMAND]` as well as `--help`.
        if (args.Length > 0 && args[0] == "help") args = args.Skip(1).Append("--help").ToArray();
        args = QemuCommand.SplitRunArguments(args);
        RootCommand root = Commands();
        ParseResult parsed = root.Parse(args);
        if (parsed.Action is ParseErrorAction)
        {
            Console.Error.WriteLine($"sharpmm: {ParseErrors.Describe(parsed)}");
            return ExitCode.BadInput;
        }
        return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
    }

    /// <summary>One line on stderr for an exception, and the exit status its kind means.</summary>
    private static int Report(Exception e)
    {
        (string message, int exit) = e switch
        {
            UsageException => (e.Message, ExitCode.BadInput),
            // A file named on the command line that is missing, unreadable or not a file.
            FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or IOException => (e.Message, ExitCode.BadInput),
            CommandFailedException => (e.Message, ExitCode.Failed),
            // A machine larger than the host budget, or a store path that is not a store: input.
            HostBudgetExceededException or StoreFileRefusedException => (e.Message, ExitCode.BadInput),
            // A library step refused (e.g. a layout's boot sequence on a map it cannot serve),
            // or a library invariant broke (hosted panic).
            InvalidOperationException or PanicException => (e.Message, ExitCode.Failed),
            OutOfMemoryException => ("out of host memory", ExitCode.Failed),
            _ => ($"internal error: {e.GetType().Name}: {e.Message}", ExitCode.Failed),
        };
        Console.Out.Flush();
        Console.Error.WriteLine($"sharpmm: {OneLine(message)}");
        return exit;
    }

    /// <summary><paramref name="text"/> with its line breaks and tabs as single spaces.</summary>
    internal static string OneLine(string text) =>
        string.Join(' ', text.Split(new[] { '\r', '\n', '\t' }, StringSplitOptions.RemoveEmptyEntries).Select(s => s.Trim()).Where(s => s.Length > 0));
}
