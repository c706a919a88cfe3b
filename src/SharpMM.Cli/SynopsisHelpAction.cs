using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Linq;

namespace SharpMM.Cli;

/// <summary>`--help`: System.CommandLine's help, and after the main help one synopsis line per
/// command naming every option it takes (`sharpmm COMMAND --help` explains each).</summary>
internal sealed class SynopsisHelpAction(HelpAction standard) : SynchronousCommandLineAction
{
    public override int Invoke(ParseResult parseResult)
    {
        int exit = standard.Invoke(parseResult);
        if (parseResult.CommandResult.Command is not RootCommand root) return exit;
        var output = parseResult.InvocationConfiguration.Output;
        output.WriteLine("Synopsis:");
        foreach (Command c in root.Subcommands)
        {
            // A command with subcommands (trace): a line per subcommand.
            if (c.Subcommands.Count > 0) foreach (Command sub in c.Subcommands) Line(output, c.Name + " " + sub.Name, sub);
            else Line(output, c.Name, c);
        }
        output.WriteLine();
        return exit;
    }

    private static void Line(System.IO.TextWriter output, string name, Command c)
    {
        var words = c.Arguments.Select(a => a.HelpName ?? a.Name)
                     .Concat(c.Options.Where(o => o is not HelpOption).Select(o => o is Option<bool> ? $"[{o.Name}]" : $"[{o.Name} {o.HelpName}]"));
        output.WriteLine($"  sharpmm {name} {string.Join(' ', words)}");
    }
}
