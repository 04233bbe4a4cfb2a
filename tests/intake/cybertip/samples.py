"""Hand-written CyberTipline documents shared by the tests (all data invented)."""
from __future__ import annotations

from datetime import datetime, timezone

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)

MINIMAL_REPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<report xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
        xsi:noNamespaceSchemaLocation="https://report.cybertip.org/ispws/xsd">
    <incidentSummary>
        <incidentType>Child Pornography (possession, manufacture, and distribution)</incidentType>
        <reportAnnotations>
            <sextortion />
            <csamSolicitation />
            <minorToMinorInteraction />
            <spam />
            <sadisticOnlineExploitation />
        </reportAnnotations>
        <incidentDateTime>2012-10-15T08:00:00-07:00</incidentDateTime>
    </incidentSummary>
    <internetDetails>
        <webPageIncident>
            <url>http://badsite.com/baduri.html</url>
        </webPageIncident>
    </internetDetails>
    <reporter>
        <reportingPerson>
            <firstName>John</firstName>
            <lastName>Smith</lastName>
            <email>jsmith@example.com</email>
        </reportingPerson>
    </reporter>
</report>
"""

# Every element kind of the schema at least once, with awkward text: Arabic,
# leading and trailing spaces, CDATA, character references, annotations out of
# schema order.
FULL_REPORT = """<?xml version="1.0" encoding="UTF-8"?>
<report xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://report.cybertip.org/ispws/xsd">
  <incidentSummary>
    <incidentType>Online Enticement of Children for Sexual Acts</incidentType>
    <platform>  منصة الدردشة  </platform>
    <escalateToHighPriority>Immediate risk &amp; ongoing contact</escalateToHighPriority>
    <reportAnnotations>
      <spam/>
      <sadisticOnlineExploitation>true</sadisticOnlineExploitation>
      <sextortion/>
      <minorToMinorInteraction />
      <csamSolicitation></csamSolicitation>
    </reportAnnotations>
    <incidentDateTime>2024-03-01T10:15:30.123+03:00</incidentDateTime>
    <incidentDateTimeDescription><![CDATA[Time of <first> message]]></incidentDateTimeDescription>
  </incidentSummary>
  <internetDetails>
    <webPageIncident thirdPartyHostedContent="false">
      <url>https://example.com/a?b=c&amp;d=e</url>
      <url>http://[2001:db8::1]:8080/x</url>
      <additionalInfo>page &#x41;&#1605;</additionalInfo>
    </webPageIncident>
  </internetDetails>
  <internetDetails>
    <emailIncident>
      <emailAddress type="Home">Suspect@Example.COM</emailAddress>
      <content>Subject: hi</content>
      <additionalInfo>email info</additionalInfo>
    </emailIncident>
  </internetDetails>
  <internetDetails>
    <newsgroupIncident>
      <name>alt.example</name>
      <emailAddress> child@example.org </emailAddress>
      <content>post</content>
      <additionalInfo>ng</additionalInfo>
    </newsgroupIncident>
  </internetDetails>
  <internetDetails>
    <chatImIncident>
      <chatClient>ExampleChat</chatClient>
      <chatRoomName>room 1</chatRoomName>
      <content>line 1
line 2</content>
      <additionalInfo>chat</additionalInfo>
    </chatImIncident>
  </internetDetails>
  <internetDetails>
    <onlineGamingIncident>
      <gameName>Example Game</gameName>
      <console>PC</console>
      <content>gg</content>
      <additionalInfo>game</additionalInfo>
    </onlineGamingIncident>
  </internetDetails>
  <internetDetails>
    <cellPhoneIncident>
      <phoneNumber type="Mobile" verified="true" verificationDate="2024-01-01T00:00:00Z" countryCallingCode="+970" extension="12">599123456</phoneNumber>
      <latitude>31.9</latitude>
      <longitude>35.2</longitude>
      <additionalInfo>cell</additionalInfo>
    </cellPhoneIncident>
  </internetDetails>
  <internetDetails>
    <nonInternetIncident>
      <locationName>Park</locationName>
      <incidentAddress type="Home">
        <address>1 Main St</address>
        <city>Springfield</city>
        <zipCode>12345</zipCode>
        <state>IL</state>
        <country>US</country>
      </incidentAddress>
      <additionalInfo>non-internet</additionalInfo>
    </nonInternetIncident>
  </internetDetails>
  <internetDetails>
    <peer2peerIncident>
      <client>ExampleP2P</client>
      <ipCaptureEvent>
        <ipAddress>::ffff:192.0.2.1</ipAddress>
        <eventName>Upload</eventName>
        <dateTime>2024-02-01T00:00:00Z</dateTime>
        <possibleProxy>false</possibleProxy>
        <port>6881</port>
      </ipCaptureEvent>
      <fileNames>a.jpg, b.jpg</fileNames>
      <additionalInfo>p2p</additionalInfo>
    </peer2peerIncident>
  </internetDetails>
  <lawEnforcement>
    <agencyName>Example Police</agencyName>
    <caseNumber>2024-001</caseNumber>
    <officerContact>
      <firstName>Ann</firstName>
      <lastName>Officer</lastName>
      <phone>555-0100</phone>
      <email>ann@police.example</email>
      <address><city>Ramallah</city><nonUsaState>Ramallah</nonUsaState><country>PS</country></address>
    </officerContact>
    <reportedToLe>true</reportedToLe>
    <servedLegalProcessDomestic>false</servedLegalProcessDomestic>
    <servedLegalProcessInternational fleaCountry="GB">true</servedLegalProcessInternational>
  </lawEnforcement>
  <reporter>
    <reportingPerson>
      <firstName>John</firstName>
      <lastName>Smith</lastName>
      <phone countryCallingCode="+1">5550100</phone>
      <email verified="true" verificationDate="2024-01-01T00:00:00Z">jsmith@example.com</email>
      <address type="Business"><address>2 Corp Way</address><state>CA</state><country>US</country></address>
    </reportingPerson>
    <contactPerson>
      <firstName>Safety</firstName>
      <email>safety@example.com</email>
    </contactPerson>
    <companyTemplate>Serve legal process at ...</companyTemplate>
    <termsOfService>No abuse.</termsOfService>
    <legalURL>https://example.com/legal</legalURL>
  </reporter>
  <personOrUserReported>
    <personOrUserReportedPerson>
      <firstName>عمر</firstName>
      <lastName>Doe</lastName>
      <phone type="Home">0599000000</phone>
      <email type="Work">suspect@example.com</email>
      <email>second@example.com</email>
      <age>35</age>
      <dateOfBirth>1989-05-05</dateOfBirth>
    </personOrUserReportedPerson>
    <vehicleDescription>blue car</vehicleDescription>
    <espIdentifier>u123</espIdentifier>
    <espService>Example Messenger</espService>
    <compromisedAccount>false</compromisedAccount>
    <screenName>bad_user</screenName>
    <displayName> Bad User </displayName>
    <displayName>BU</displayName>
    <profileUrl>https://example.com/u/bad_user</profileUrl>
    <profileBio>bio</profileBio>
    <ipCaptureEvent>
      <ipAddress>198.51.100.7</ipAddress>
      <eventName>Login</eventName>
      <dateTime>2024-02-01T01:02:03-05:00</dateTime>
      <possibleProxy>true</possibleProxy>
      <port>443</port>
    </ipCaptureEvent>
    <ipCaptureEvent>
      <ipAddress>2001:db8::7</ipAddress>
    </ipCaptureEvent>
    <deviceId>
      <idType>IMEI</idType>
      <idValue>490154203237518</idValue>
      <eventName>Registration</eventName>
      <dateTime>2023-12-31T23:59:59Z</dateTime>
    </deviceId>
    <thirdPartyUserReported>false</thirdPartyUserReported>
    <priorCTReports>1001</priorCTReports>
    <groupIdentifier>group-1</groupIdentifier>
    <accountTemporarilyDisabled disabledDate="2024-02-02T00:00:00Z" userNotified="true" userNotifiedDate="2024-02-02T00:00:00Z" reenabledDate="2024-02-10T00:00:00Z">true</accountTemporarilyDisabled>
    <accountPermanentlyDisabled disabledDate="2024-03-01T00:00:00Z" userNotified="false">true</accountPermanentlyDisabled>
    <estimatedLocation verified="false" timestamp="2024-02-01T00:00:00Z">
      <city>Austin</city>
      <region>TX</region>
      <countryCode>US</countryCode>
    </estimatedLocation>
    <allEmailsReported>true</allEmailsReported>
    <associatedAccount type="Linked">
      <platform thirdPartyUser="true">Other Site</platform>
      <firstName>J</firstName>
      <middleName>Q</middleName>
      <lastName>D</lastName>
      <approximateAge>30</approximateAge>
      <phone>555-0199</phone>
      <email>alt@example.net</email>
      <allEmailsReported>false</allEmailsReported>
      <address><country>JO</country></address>
      <espService>Other</espService>
      <espIdentifier>o-1</espIdentifier>
      <profileUrl>https://other.example/o-1</profileUrl>
      <screenName>alt</screenName>
      <displayName>Alt</displayName>
      <profileBio>alt bio</profileBio>
      <groupIdentifier>g</groupIdentifier>
      <compromisedAccount>true</compromisedAccount>
      <accountTemporarilyDisabled>false</accountTemporarilyDisabled>
      <accountPermanentlyDisabled>false</accountPermanentlyDisabled>
      <ipCaptureEvent><ipAddress>203.0.113.9</ipAddress></ipCaptureEvent>
      <deviceId><idType>SSID</idType><idValue>home-wifi</idValue></deviceId>
      <priorCTReport>1002</priorCTReport>
      <additionalInfo>assoc</additionalInfo>
    </associatedAccount>
    <additionalInfo>suspect info</additionalInfo>
  </personOrUserReported>
  <intendedRecipient>
    <intendedRecipientPerson>
      <firstName>R</firstName>
      <email>recipient@example.com</email>
    </intendedRecipientPerson>
    <espIdentifier>r1</espIdentifier>
    <espService>Example Messenger</espService>
    <compromisedAccount>false</compromisedAccount>
    <screenName>rec</screenName>
    <displayName>Rec</displayName>
    <profileUrl>https://example.com/u/rec</profileUrl>
    <profileBio>rb</profileBio>
    <ipCaptureEvent><ipAddress>192.0.2.55</ipAddress></ipCaptureEvent>
    <deviceId><idType>ICCID</idType><idValue>8901</idValue></deviceId>
    <priorCTReports>1001</priorCTReports>
    <groupIdentifier>rg</groupIdentifier>
    <accountTemporarilyDisabled>false</accountTemporarilyDisabled>
    <accountPermanentlyDisabled>false</accountPermanentlyDisabled>
    <estimatedLocation><countryCode>PS</countryCode></estimatedLocation>
    <allEmailsReported>false</allEmailsReported>
    <additionalInfo>rec info 1</additionalInfo>
    <additionalInfo>rec info 2</additionalInfo>
  </intendedRecipient>
  <victim>
    <victimPerson>
      <firstName>ليلى</firstName>
      <email>Child@Example.org</email>
      <age>13</age>
    </victimPerson>
    <espIdentifier>v1</espIdentifier>
    <espService>Example Messenger</espService>
    <compromisedAccount>false</compromisedAccount>
    <screenName>vic</screenName>
    <displayName>Vic</displayName>
    <profileUrl>https://example.com/u/vic</profileUrl>
    <profileBio>vb</profileBio>
    <ipCaptureEvent><ipAddress>192.0.2.66</ipAddress></ipCaptureEvent>
    <deviceId><idType>IMEI</idType><idValue>1</idValue></deviceId>
    <schoolName>School</schoolName>
    <priorCTReports>1002</priorCTReports>
    <accountTemporarilyDisabled>false</accountTemporarilyDisabled>
    <accountPermanentlyDisabled>false</accountPermanentlyDisabled>
    <estimatedLocation><city>Gaza</city><countryCode>PS</countryCode></estimatedLocation>
    <allEmailsReported>true</allEmailsReported>
    <associatedAccount type="Parent/Guardian">
      <firstName>P</firstName>
      <dateOfBirth>1980-01-01</dateOfBirth>
    </associatedAccount>
    <additionalInfo>victim info</additionalInfo>
  </victim>
  <additionalInfo>   leading and trailing spaces   </additionalInfo>
</report>
""".encode()

FILE_DETAILS = b"""<?xml version="1.0" encoding="UTF-8"?>
<fileDetails xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
             xsi:noNamespaceSchemaLocation="https://report.cybertip.org/ispws/xsd">
    <reportId>4564654</reportId>
    <fileId>b0754af766b426f2928a02c651ed4b99</fileId>
    <originalFileName>mypic.jpg</originalFileName>
    <ipCaptureEvent>
        <ipAddress>203.0.113.17</ipAddress>
        <eventName>Upload</eventName>
        <dateTime>2011-10-31T12:00:00Z</dateTime>
    </ipCaptureEvent>
    <additionalInfo>File was originally posted with 6 others</additionalInfo>
</fileDetails>
"""

FULL_FILE_DETAILS = """<?xml version="1.0" encoding="UTF-8"?>
<fileDetails>
  <reportId>4564654</reportId>
  <fileId>b0754af766b426f2928a02c651ed4b99</fileId>
  <fileName>upload.jpg</fileName>
  <originalFileName>صورة.jpg</originalFileName>
  <uploadedToEspTimestamp>2024-01-01T00:00:00Z</uploadedToEspTimestamp>
  <locationOfFile>https://cdn.example.com/f/1.jpg</locationOfFile>
  <fileViewedByEsp>true</fileViewedByEsp>
  <exifViewedByEsp>true</exifViewedByEsp>
  <publiclyAvailable>false</publiclyAvailable>
  <fileRelevance>Reported</fileRelevance>
  <fileAnnotations>
    <generativeAi/>
    <infant/>
    <liveStreaming/>
    <bestiality/>
    <violenceGore/>
    <physicalHarm/>
    <possibleSelfProduction/>
    <viral/>
    <potentialMeme/>
    <animeDrawingVirtualHentai/>
  </fileAnnotations>
  <industryClassification>A1</industryClassification>
  <originalFileHash hashType="MD5">0123456789abcdef0123456789abcdef</originalFileHash>
  <originalFileHash hashType="SHA1">0123456789abcdef0123456789abcdef01234567</originalFileHash>
  <ipCaptureEvent><ipAddress>192.0.2.1</ipAddress></ipCaptureEvent>
  <deviceId><idType>IMEI</idType><idValue>1</idValue></deviceId>
  <details type="EXIF">
    <nameValuePair><name>Make</name><value>Camera</value></nameValuePair>
    <nameValuePair><name>Model</name><value> X </value></nameValuePair>
  </details>
  <additionalInfo>one</additionalInfo>
  <additionalInfo>two</additionalInfo>
</fileDetails>
""".encode()

BATCHED_REPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<report>
  <batchedReport reason="VIRAL_POTENTIAL_MEME"/>
  <incidentSummary>
    <incidentType>Child Pornography (possession, manufacture, and distribution)</incidentType>
    <incidentDateTime>2024-01-01T00:00:00Z</incidentDateTime>
  </incidentSummary>
  <reporter>
    <reportingPerson><email>safety@example.com</email></reportingPerson>
  </reporter>
  <personOrUserReported><espIdentifier>u1</espIdentifier></personOrUserReported>
  <personOrUserReported><espIdentifier>u2</espIdentifier></personOrUserReported>
  <personOrUserReported><espIdentifier>u3</espIdentifier></personOrUserReported>
</report>
"""

BATCHED_FILE_DETAILS = b"""<fileDetails>
  <reportId>1</reportId>
  <fileId>f1</fileId>
  <fileRelevance>Reported</fileRelevance>
  <fileAnnotations><viral/><potentialMeme/></fileAnnotations>
  <industryClassification>B2</industryClassification>
</fileDetails>
"""
