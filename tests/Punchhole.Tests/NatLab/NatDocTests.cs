using Punchhole.NatLab;
using Punchhole.Tests.Support;

namespace Punchhole.Tests.NatLab;

/// <summary>docs/NAT.md shows the rules the lab really loads.</summary>
public class NatDocTests
{
    [Fact]
    public void Every_rule_of_every_variant_appears_in_docs_NAT_md()
    {
        string doc = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "docs", "NAT.md"));
        foreach (var variant in LabVariants.All)
        {
            foreach (string rule in (Lab.Ipv4Rules(variant) + Lab.Ipv6Rules(variant)).Split('\n'))
            {
                if (rule.StartsWith("-A ", StringComparison.Ordinal))
                {
                    Assert.True(doc.Contains(rule, StringComparison.Ordinal), $"docs/NAT.md lacks the {variant.Name()} rule: {rule}");
                }
            }
        }
    }
}
