import Foundation
import SMSProviders
import SMSServer
import SMSStore
import Testing

@Suite("Demo mode (serve --demo)")
struct DemoTests {
    @Test("on an empty database the demo sets up a provider, a campaign, a dialer, three agents and a supervisor; a second start keeps them")
    func installsOnce() async throws {
        try await TestApp.with { app, client in
            let accounts = try #require(try await Demo.install(storage: app.storage, accounts: Accounts(storage: app.storage, bcryptCost: 4)))
            #expect(accounts.map(\.username) == ["ana", "bruno", "carla", "sofia"])
            #expect(accounts.map(\.role) == [.agent, .agent, .agent, .supervisor])

            let providers = try await app.storage.providers.list()
            #expect(providers.count == 1)
            #expect(providers.first?.type == ProviderType.simulator.rawValue)
            let campaign = try #require(try await app.storage.campaigns.campaign(forDID: Demo.did))
            let details = try #require(try await app.storage.campaigns.details(id: campaign.id))
            #expect(details.members.count == 3)
            #expect(details.supervisors.count == 1)
            #expect(details.cannedResponses.count == 4)
            #expect(campaign.providerID == providers.first?.id)
            let dialers = try await app.storage.dialers.list()
            #expect(dialers.count == 1)
            #expect(dialers.first?.enabled == true)
            #expect(dialers.first?.campaignIDs == [campaign.id])

            // The printed passwords work: the supervisor signs in and sees the campaign on the monitor.
            let sofia = try #require(accounts.first { $0.username == "sofia" })
            let credential = try await app.login(client, username: "sofia", password: sofia.password)
            let monitor = try await client.executeJSON("/api/v1/monitor/campaigns", method: .get, as: credential)
            #expect(monitor.status == .ok)
            #expect(monitor.text.contains(Demo.campaignName))

            // A restart on the same data dir resumes the demo: nothing is created twice.
            #expect(try await Demo.install(storage: app.storage, accounts: Accounts(storage: app.storage, bcryptCost: 4)) == nil)
            #expect(try await app.storage.providers.list().count == 1)
            #expect(try await app.storage.users.count() == 4)
        }
    }

    @Test("a database with anything else in it is refused, saying what it holds, and nothing is added")
    func refusesADatabaseInUse() async throws {
        try await TestApp.with { app, _ in
            let accounts = Accounts(storage: app.storage, bcryptCost: 4)
            _ = try await accounts.createUser(username: "admin", displayName: nil, role: .admin)
            _ = try await accounts.createUser(username: "maria", displayName: nil, role: .agent)
            do {
                _ = try await Demo.install(storage: app.storage, accounts: accounts)
                Issue.record("the demo was installed over existing users")
            } catch let error as Demo.NotEmpty {
                #expect(error.description.contains("needs an empty data dir"))
                #expect(error.description.contains("2 users"))
            }
            #expect(try await app.storage.providers.list().isEmpty)
            #expect(try await app.storage.campaigns.list().isEmpty)
            #expect(try await app.storage.users.count() == 2)
        }
    }
}
